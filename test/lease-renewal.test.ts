import { describe, expect, it } from 'vitest';
import { ClosedError, LeaseLostError, MemoryStorage, Queue, RequestReply, Topic, type QueueOptions } from '../src/index.js';
import { countingStorage } from './helpers/counting-storage.js';
import { TestClock } from '../src/test-clock.js';

function setup<T = unknown>(options: Omit<QueueOptions, 'storage'> = {}) {
  const clock = new TestClock();
  const memory = new MemoryStorage({ clock });
  const counted = countingStorage(memory);
  const queue = new Queue<T>('work', { storage: counted.storage, ...options });
  return { clock, memory, counted, queue };
}

describe('lease renewal', () => {
  it('consume() - a storage failure while renewing aborts the signal with LeaseLostError (cause: the error) and emits it', async () => {
    expect.assertions(5);
    const { clock, counted, queue } = setup<string>({ visibilityTimeout: 300 });
    const failure = new Error('disk on fire');
    counted.replace('extend', () => Promise.reject(failure));
    const errors: Error[] = [];
    queue.on('error', (error) => errors.push(error));
    let signal: AbortSignal | undefined;
    const consumer = queue.consume(async (_msg, context) => {
      const slept = clock.sleep(1_000);
      signal = context.signal;
      await slept;
    });
    await queue.send('job');
    await clock.advance(99);
    expect(signal!.aborted).toBe(false);
    await clock.advance(1);
    expect(signal!.reason).toBeInstanceOf(LeaseLostError);
    expect((signal!.reason as LeaseLostError).cause).toBe(failure);
    expect(errors).toEqual([failure]);
    await clock.advance(800);
    // The handler still runs, but its lease is gone: renewal stopped trying after the failure.
    expect(counted.calls.get('extend')).toBe(1);
    await consumer.stop({ abandon: true });
  });

  it('consume() - a handler that finishes normally never sees its signal aborted', async () => {
    const { clock, queue } = setup<string>({ visibilityTimeout: 300 });
    const signals: AbortSignal[] = [];
    const consumer = queue.consume(async (_msg, { signal }) => {
      const slept = clock.sleep(700);
      signals.push(signal);
      await slept;
    });
    await queue.sendBatch([{ body: 'a' }, { body: 'b' }]);
    await clock.advance(2_000);
    expect(signals.map((s) => s.aborted)).toEqual([false, false]);
    expect(await queue.stats()).toMatchObject({ delivered: 2, acked: 2, retried: 0 });
    await consumer.stop();
  });

  it('consume() - a handler that acks its message itself is no longer renewed', async () => {
    const { clock, counted, queue } = setup<string>({ visibilityTimeout: 300 });
    const consumer = queue.consume(async (msg) => {
      const slept = clock.sleep(1_000);
      await msg.ack();
      await slept;
    });
    await queue.send('job');
    await clock.advance(2_000);
    expect(counted.calls.get('extend')).toBeUndefined();
    expect(await queue.stats()).toMatchObject({ delivered: 1, acked: 1 });
    await consumer.stop();
  });

  it('consumer.stop() - waits for a slow handler and keeps its lease alive meanwhile', async () => {
    const { clock, queue } = setup<string>({ visibilityTimeout: 300 });
    const runs: number[] = [];
    const consumer = queue.consume(async (msg) => {
      const slept = clock.sleep(1_000);
      runs.push(msg.attempt);
      await slept;
    });
    await queue.send('job');
    await clock.advance(0);
    let stopped = false;
    const stopping = consumer.stop().then(() => (stopped = true));
    await clock.advance(999);
    expect(stopped).toBe(false);
    await clock.advance(1);
    await stopping;
    expect(runs).toEqual([1]);
    expect(await queue.stats()).toMatchObject({ inflight: 0, acked: 1 });
  });

  it('consumer.stop() - rejects invalid options with a TypeError naming them, and keeps consuming', async () => {
    const { clock, queue } = setup<string>();
    const seen: string[] = [];
    const consumer = queue.consume((msg) => void seen.push(msg.body));
    await expect(consumer.stop({ abandon: 'yes' } as never)).rejects.toThrow(/Expected `options.abandon` to be a boolean/);
    await expect(consumer.stop({ abandn: true } as never)).rejects.toThrow(/Unknown option `options.abandn`/);
    await queue.send('still here');
    await clock.advance(0);
    expect(seen).toEqual(['still here']);
    await consumer.stop();
  });

  it('consumer.stop({ abandon: true }) after a graceful stop() abandons the handlers it was waiting for', async () => {
    const { clock, queue } = setup<string>();
    const reasons: unknown[] = [];
    const consumer = queue.consume(async (_msg, { signal }) => {
      const slept = clock.sleep(10_000);
      signal.addEventListener('abort', () => reasons.push(signal.reason));
      await slept;
    });
    await queue.send('job');
    await clock.advance(0);
    void consumer.stop();
    await consumer.stop({ abandon: true });
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toBeInstanceOf(ClosedError);
    expect(await queue.stats()).toMatchObject({ ready: 1, inflight: 0 });
  });

  it('topic.subscribe() - a durable subscription\'s slow handler keeps its lease and is acked once', async () => {
    const clock = new TestClock();
    const storage = new MemoryStorage({ clock });
    const topic = new Topic<string>('events', { storage });
    const runs: number[] = [];
    const subscription = topic.subscribe(
      'audit',
      async (msg, { signal }) => {
        const slept = clock.sleep(500);
        runs.push(msg.attempt);
        await slept;
        expect(signal.aborted).toBe(false);
      },
      { visibilityTimeout: 200 },
    );
    await subscription.ready;
    await topic.publish('hello');
    await clock.advance(2_000);
    expect(runs).toEqual([1]);
    expect(await subscription.queue!.stats()).toMatchObject({ delivered: 1, acked: 1, deadLettered: 0 });
    await subscription.stop({ abandon: true });
    await topic.close();
  });

  it('rpc.serve() - a slow request handler gets the context, keeps its lease and replies once', async () => {
    const clock = new TestClock();
    const storage = new MemoryStorage({ clock });
    const rpc = new RequestReply<number, number>('pricing', { storage, visibilityTimeout: 200, timeout: 5_000 });
    const runs: number[] = [];
    rpc.serve(async (n, msg, { signal }) => {
      const slept = clock.sleep(500);
      runs.push(msg.attempt);
      await slept;
      return signal.aborted ? -1 : n * 2;
    });
    const reply = rpc.request(21);
    await clock.advance(2_000);
    await expect(reply).resolves.toBe(42);
    expect(runs).toEqual([1]);
    expect(await rpc.queue.stats()).toMatchObject({ delivered: 1, acked: 1 });
    await rpc.close();
  });
});

describe('queue.ack(messages)', () => {
  it('rejects what is not an array of unsettled messages of this handle, acking none', async () => {
    const { clock, memory, queue } = setup<number>();
    const other = new Queue<number>('work', { storage: memory });
    await queue.sendBatch([{ body: 1 }, { body: 2 }, { body: 3 }]);
    const [a, b] = await queue.receive({ max: 2 });
    const [c] = await other.receive({ max: 1 });
    await expect(queue.ack('nope' as never)).rejects.toThrow(/Expected `messages` to be an array of messages/);
    await expect(queue.ack([a!, { id: 'x' } as never])).rejects.toThrow(/Expected `messages\[1\]` to be a message received through this handle of queue "work"/);
    await expect(queue.ack([a!, c!])).rejects.toThrow(/Expected `messages\[1\]`/);
    await expect(queue.ack([a!, b!, a!])).rejects.toThrow(/`messages\[2\]`.*appears twice/);
    expect(await b!.ack()).toBe(true);
    await expect(queue.ack([a!, b!])).rejects.toThrow(/`messages\[1\]`.*already acked/);
    expect([a!.settled, c!.settled]).toEqual([false, false]);
    expect(await queue.stats()).toMatchObject({ inflight: 2, acked: 1 });
    expect(await queue.ack([a!])).toEqual([true]);
    expect(await other.ack([c!])).toEqual([true]);
    await clock.advance(0);
    expect(await queue.stats()).toMatchObject({ inflight: 0, acked: 3 });
  });

  it('rejects with the storage\'s error when the ack fails', async () => {
    const { counted, queue } = setup<number>();
    const failure = new Error('storage down');
    await queue.send(1);
    const messages = await queue.receive();
    counted.replace('ack', () => Promise.reject(failure));
    await expect(queue.ack(messages)).rejects.toBe(failure);
  });

  it('rejects with ClosedError on a closed handle', async () => {
    const { queue } = setup<number>();
    await queue.close();
    await expect(queue.ack([])).rejects.toBeInstanceOf(ClosedError);
  });
});
