import { describe, expect, it } from 'vitest';
import { MemoryStorage, Queue, RequestReply, Topic, type QueueOptions } from '../src/index.js';
import { TestClock } from '../src/testing.js';

function setup<T = unknown>(options: Omit<QueueOptions, 'storage'> = {}) {
  const clock = new TestClock(1_000_000);
  const storage = new MemoryStorage({ clock });
  const queue = new Queue<T>('jobs', { storage, ...options });
  return { clock, storage, queue };
}

describe('queue.metrics()', () => {
  it('.metrics() - all zeros on a new handle', () => {
    const { queue } = setup();
    expect(queue.metrics()).toEqual({
      sent: 0,
      delivered: 0,
      acked: 0,
      retried: 0,
      deadLettered: 0,
      expired: 0,
      failed: 0,
      processing: { count: 0, mean: 0, p50: 0, p95: 0, p99: 0, max: 0 },
      rates: { sentPerSec: 0, ackedPerSec: 0, failedPerSec: 0 },
      errorRate: 0,
    });
  });

  it('.metrics() - counts sends (not duplicates), deliveries, acks, retries, dead letters and failures', async () => {
    const { queue, clock } = setup<number>({ maxAttempts: 2, backoff: () => 100 });
    await queue.send(1, { dedupeId: 'a' });
    await queue.send(1, { dedupeId: 'a' });
    await queue.sendBatch([{ body: 2 }, { body: 3 }]);
    queue.consume((msg) => {
      if (msg.body === 3) throw new Error('boom');
    });
    await clock.runAll();
    expect(queue.metrics()).toMatchObject({ sent: 3, delivered: 4, acked: 2, retried: 1, deadLettered: 1, failed: 2 });
  });

  it('.metrics() - counts nacks as failures and expiries as this handle reports them', async () => {
    const { queue, clock } = setup<number>({ backoff: () => 0 });
    await queue.send(1);
    await queue.send(2, { ttl: 50 });
    const [msg] = await queue.receive({ max: 1 });
    await msg!.nack();
    await clock.advance(100);
    await queue.receive({ max: 5 });
    expect(queue.metrics()).toMatchObject({ sent: 2, failed: 1, retried: 1, expired: 1, delivered: 2 });
  });

  it('.metrics() - handler durations on the storage clock, start to settle', async () => {
    const { queue, clock, storage } = setup<number>();
    for (const ms of [10, 20, 30, 40, 1_000]) await queue.send(ms);
    queue.consume(async (msg) => storage.clock.sleep(msg.body));
    await clock.runAll();
    const { processing } = queue.metrics();
    expect(processing.count).toBe(5);
    expect(processing.max).toBe(1_000);
    expect(processing.mean).toBe(220);
    expect(processing.p50).toBeGreaterThanOrEqual(28);
    expect(processing.p50).toBeLessThanOrEqual(32);
    // Quantiles are read at the middle of their bucket, within 1/16 of the value, never above max.
    expect(processing.p99).toBeGreaterThanOrEqual(1_000 * (15 / 16));
    expect(processing.p99).toBeLessThanOrEqual(1_000);
  });

  it('.metrics() - a failing handler and a synchronous one are timed too', async () => {
    const { queue, clock, storage } = setup<number>({ maxAttempts: 1 });
    await queue.send(1);
    await queue.send(2);
    queue.consume(async (msg) => {
      if (msg.body === 1) {
        await storage.clock.sleep(50);
        throw new Error('late failure');
      }
    });
    await clock.runAll();
    expect(queue.metrics().processing).toMatchObject({ count: 2, max: 50 });
  });

  it('.metrics() - rates and error rate over the last 60 s, driven by a TestClock', async () => {
    const { queue, clock } = setup<number>({ maxAttempts: 1, deadLetter: false });
    await clock.advance(30_000);
    for (let i = 0; i < 30; i++) await queue.send(i);
    const consumer = queue.consume((msg) => {
      if (msg.body % 3 === 0) throw new Error('every third');
    });
    await clock.advance(0);
    await queue.idle();
    // 30 s since the handle opened: 30 sends in 30 s.
    let m = queue.metrics();
    expect(m.rates.sentPerSec).toBe(1);
    expect(m.rates.ackedPerSec).toBeCloseTo(20 / 30, 10);
    expect(m.rates.failedPerSec).toBeCloseTo(10 / 30, 10);
    expect(m.errorRate).toBeCloseTo(1 / 3, 10);
    // 60 s on, the window has moved past all of it; the counters stay.
    await clock.advance(60_000);
    m = queue.metrics();
    expect(m.rates).toEqual({ sentPerSec: 0, ackedPerSec: 0, failedPerSec: 0 });
    expect(m.errorRate).toBe(0);
    expect(m.processing.count).toBe(0);
    expect(m).toMatchObject({ sent: 30, acked: 20, failed: 10 });
    await consumer.stop();
  });

  it('.metrics() - each handle counts its own work', async () => {
    const { queue, storage } = setup<number>();
    const other = new Queue<number>('jobs', { storage });
    await queue.send(1);
    await other.send(2);
    await other.send(3);
    expect(queue.metrics().sent).toBe(1);
    expect(other.metrics().sent).toBe(2);
  });
});

describe('topic.metrics()', () => {
  it('.metrics() - publishes, and the work of the durable subscriptions attached through the handle', async () => {
    const clock = new TestClock(1_000_000);
    const storage = new MemoryStorage({ clock });
    const topic = new Topic<number>('events', { storage });
    const a = topic.subscribe('a', () => {});
    const b = topic.subscribe('b', async () => storage.clock.sleep(5));
    await Promise.all([a.ready, b.ready]);
    await topic.publish(1);
    await topic.publishBatch([{ body: 2 }, { body: 3 }]);
    await clock.runAll();
    const m = topic.metrics();
    expect(m).toMatchObject({ sent: 3, delivered: 6, acked: 6, failed: 0 });
    expect(m.processing).toMatchObject({ count: 6, max: 5 });
  });
});

describe('requestReply.metrics()', () => {
  it('.metrics() - request latency, replies and timeouts', async () => {
    const clock = new TestClock(1_000_000);
    const storage = new MemoryStorage({ clock });
    const rpc = new RequestReply<number, number>('double', { storage, timeout: 1_000 });
    rpc.serve(async (n) => {
      if (n < 0) await storage.clock.sleep(5_000);
      else await storage.clock.sleep(n);
      return n * 2;
    });
    const replies = Promise.all([rpc.request(40), rpc.request(80)]);
    const late = rpc.request(-1).catch((error: unknown) => error);
    await clock.advance(2_000);
    expect(await replies).toEqual([80, 160]);
    expect(await late).toMatchObject({ code: 'ERR_TIMEOUT' });
    const m = rpc.metrics();
    expect(m).toMatchObject({ replied: 2, timedOut: 1, sent: 3 });
    // One handler at a time: the second request waited for the first (40 ms), then took 80 ms.
    expect(m.latency).toMatchObject({ count: 2, mean: 80, max: 120 });
    await clock.runAll();
    await rpc.close();
  });
});
