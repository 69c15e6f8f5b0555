import { describe, expect, it } from 'vitest';
import { Consumer, DEAD_LETTER_HEADERS, MemoryStorage, Queue, type Message, type QueueOptions } from '../src/index.js';
import { TestClock } from '../src/testing.js';
import type { ClaimRequest, ClaimResult, EnqueuePolicy, EnqueueResult, NewMessage, Receipt, Settle } from '../src/storage/storage.js';

/** One turn of the event loop: pending promise chains run (MemoryStorage does no I/O). For handlers the test itself blocks. */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function setup<T = unknown>(options: Omit<QueueOptions, 'storage'> = {}) {
  const clock = new TestClock();
  const storage = new MemoryStorage({ clock });
  const queue = new Queue<T>('work', { storage, ...options });
  const dlq = new Queue<T>('work.dlq', { storage });
  return { clock, storage, queue, dlq };
}

/** A handler the test releases message by message, recording how many run at once. */
function gatedHandler<T>() {
  const gates: (() => void)[] = [];
  const state = { running: 0, maxRunning: 0, started: [] as T[] };
  const handler = async (msg: Message<T>) => {
    state.running++;
    state.maxRunning = Math.max(state.maxRunning, state.running);
    state.started.push(msg.body);
    await new Promise<void>((resolve) => gates.push(resolve));
    state.running--;
  };
  /** Releases every handler waiting now. */
  const releaseAll = () => {
    for (const open of gates.splice(0)) open();
  };
  return { handler, state, releaseAll };
}

describe('Consumer', () => {
  it('.consume() - returns a Consumer', () => {
    const { queue } = setup();
    const consumer = queue.consume(async () => {});
    expect(consumer).toBeInstanceOf(Consumer);
  });

  it('.consume() - a handler that resolves acks its message', async () => {
    const { queue, clock } = setup<string>();
    const handled: string[] = [];
    queue.consume(async (msg) => {
      handled.push(msg.body);
    });
    await queue.sendBatch([{ body: 'a' }, { body: 'b' }]);
    await clock.advance(0);
    expect(handled).toEqual(['a', 'b']);
    expect(await queue.stats()).toMatchObject({ ready: 0, inflight: 0, acked: 2 });
  });

  it('.consume() - a handler returning a thenable that is not a Promise is acked when it resolves, retried when it rejects', async () => {
    const { queue, clock } = setup<string>({ backoff: () => 0 });
    const seen: string[] = [];
    queue.consume((msg) => ({
      then(resolve: () => void, reject: (error: Error) => void) {
        seen.push(`${msg.body}#${msg.attempt}`);
        if (msg.body === 'bad' && msg.attempt === 1) reject(new Error('no'));
        else resolve();
      },
    }));
    await queue.sendBatch([{ body: 'good' }, { body: 'bad' }]);
    await clock.advance(0);
    expect(seen).toEqual(['good#1', 'bad#1', 'bad#2']);
    expect(await queue.stats()).toMatchObject({ ready: 0, inflight: 0, acked: 2, retried: 1 });
  });

  it('.consume() - a synchronous handler that returns acks its message', async () => {
    const { queue, clock } = setup();
    queue.consume(() => undefined);
    await queue.send('x');
    await clock.advance(0);
    expect(await queue.stats()).toMatchObject({ acked: 1 });
  });

  it('.consume() - a synchronous handler drains a long queue once each, without recursing per message', async () => {
    const { queue, clock } = setup<number>();
    const count = 50_000;
    let handled = 0;
    // MemoryStorage answers the claim behind each ack at once; a stack overflow here would
    // show as handler failures, hence retries.
    queue.consume(() => void handled++);
    await queue.sendBatch(Array.from({ length: count }, (_, i) => ({ body: i })));
    await clock.advance(0);
    await queue.idle();
    expect(handled).toBe(count);
    expect(await queue.stats()).toMatchObject({ acked: count, retried: 0, deadLettered: 0 });
  });

  it('.consume() - sends, claims and acks through a MemoryStorage subclass that overrides enqueue(), claim() and ack()', async () => {
    class CountingStorage extends MemoryStorage {
      enqueues = 0;
      claims = 0;
      acks = 0;
      override enqueue(queue: string, items: readonly NewMessage[], policy: EnqueuePolicy, now: number): Promise<EnqueueResult> {
        this.enqueues++;
        return super.enqueue(queue, items, policy, now);
      }
      override claim(queue: string, request: ClaimRequest, now: number): Promise<ClaimResult> {
        this.claims++;
        return super.claim(queue, request, now);
      }
      override ack(queue: string, receipts: readonly Receipt[], now: number): Promise<Settle[]> {
        this.acks++;
        return super.ack(queue, receipts, now);
      }
    }
    const clock = new TestClock();
    const storage = new CountingStorage({ clock });
    const queue = new Queue<number>('work', { storage });
    queue.consume(async () => {});
    await Promise.all([queue.send(1), queue.send(2), queue.send(3)]);
    await clock.advance(0);
    await queue.idle();
    expect(await queue.stats()).toMatchObject({ acked: 3 });
    expect(storage.enqueues).toBe(3);
    expect(storage.acks).toBe(3);
    expect(storage.claims).toBeGreaterThanOrEqual(4);
  });

  it('.consume() - a handler that throws is retried after the backoff of each attempt', async () => {
    const { queue, clock } = setup({ maxAttempts: 4, backoff: { initial: 1_000, factor: 2, jitter: 'none' } });
    const attempts: [number, number][] = [];
    queue.consume(async (msg) => {
      attempts.push([msg.attempt, clock.now()]);
      throw new Error('boom');
    });
    await queue.send('x');
    await clock.advance(0);
    await clock.advance(999);
    expect(attempts).toEqual([[1, 0]]);
    await clock.advance(1);
    expect(attempts).toEqual([
      [1, 0],
      [2, 1_000],
    ]);
    await clock.advance(10_000);
    expect(attempts).toEqual([
      [1, 0],
      [2, 1_000],
      [3, 3_000],
      [4, 7_000],
    ]);
  });

  it('.consume() - after maxAttempts the message is dead-lettered with reason, last error, original queue and attempt count', async () => {
    const { queue, clock, dlq } = setup<string>({ maxAttempts: 3, backoff: { jitter: 'none', initial: 10 } });
    queue.consume(async (msg) => {
      throw new Error(`failed attempt ${msg.attempt}`);
    });
    await queue.send('job', { headers: { kept: 'yes' } });
    await clock.advance(1_000);
    expect(await queue.stats()).toMatchObject({ ready: 0, delayed: 0, inflight: 0, deadLettered: 1, retried: 2 });
    const [dead] = await dlq.receive();
    expect(dead?.body).toBe('job');
    expect(dead?.headers).toMatchObject({
      kept: 'yes',
      [DEAD_LETTER_HEADERS.reason]: 'max-attempts',
      [DEAD_LETTER_HEADERS.error]: 'failed attempt 3',
      [DEAD_LETTER_HEADERS.queue]: 'work',
      [DEAD_LETTER_HEADERS.attempts]: '3',
    });
  });

  it("DEAD_LETTER_HEADERS - names the dead-letter headers", () => {
    expect(DEAD_LETTER_HEADERS).toMatchObject({ reason: 'x-dead-reason', error: 'x-dead-error', queue: 'x-original-queue', attempts: 'x-attempts' });
  });

  it('.consume() - with deadLetter: false a failing message is dropped with a dead event', async () => {
    expect.assertions(3);
    const { queue, clock, dlq } = setup({ maxAttempts: 1, deadLetter: false });
    queue.on('dead', (msg, reason) => {
      expect(msg.body).toBe('x');
      expect(reason).toBe('max-attempts');
    });
    queue.consume(async () => {
      throw new Error('no');
    });
    await queue.send('x');
    await clock.advance(0);
    expect(await dlq.stats()).toMatchObject({ ready: 0, sent: 0 });
  });

  it.each([
    ['a string', 'just a string', 'just a string'],
    ['undefined', undefined, 'Non-error value thrown: undefined'],
    ['an object', { code: 42 }, 'Non-error value thrown: {"code":42}'],
    ['null', null, 'Non-error value thrown: null'],
  ])('.consume() - a handler throwing %s is retried, then dead-lettered, never lost', async (_label, thrown, errorHeader) => {
    const { queue, clock, dlq } = setup({ maxAttempts: 2, backoff: { jitter: 'none', initial: 10 } });
    const attempts: number[] = [];
    queue.consume(async (msg) => {
      attempts.push(msg.attempt);
      throw thrown;
    });
    await queue.send('x');
    await clock.advance(100);
    expect(attempts).toEqual([1, 2]);
    const [dead] = await dlq.receive();
    expect(dead?.headers[DEAD_LETTER_HEADERS.error]).toBe(errorHeader);
  });

  it('.consume() - a handler returning a rejected promise of a non-Error is retried', async () => {
    const { queue, clock } = setup({ backoff: () => 5 });
    const attempts: number[] = [];
    queue.consume((msg) => {
      attempts.push(msg.attempt);
      return msg.attempt === 1 ? Promise.reject('nope') : Promise.resolve();
    });
    await queue.send('x');
    await clock.advance(5);
    expect(attempts).toEqual([1, 2]);
    expect(await queue.stats()).toMatchObject({ acked: 1, retried: 1 });
  });

  it('.consume() - never runs more than concurrency handlers at once', async () => {
    const { queue } = setup<number>();
    const { handler, state, releaseAll } = gatedHandler<number>();
    const consumer = queue.consume(handler, { concurrency: 3 });
    await queue.sendBatch(Array.from({ length: 10 }, (_, i) => ({ body: i })));
    await turn();
    expect(state.running).toBe(3);
    for (let round = 0; round < 5; round++) {
      releaseAll();
      await turn();
    }
    expect(state.started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(state.maxRunning).toBe(3);
    await consumer.stop();
    expect(await queue.stats()).toMatchObject({ acked: 10 });
  });

  it('.consume() - never holds more leases than its capacity while acks and claims overlap', async () => {
    const { queue, clock } = setup<number>();
    const inflight: number[] = [];
    queue.consume(
      async () => {
        inflight.push((await queue.stats()).inflight);
      },
      { concurrency: 2 },
    );
    await queue.sendBatch(Array.from({ length: 20 }, (_, i) => ({ body: i })));
    await clock.advance(0);
    await queue.idle();
    expect(inflight).toHaveLength(20);
    expect(Math.max(...inflight)).toBeLessThanOrEqual(2);
    expect(await queue.stats()).toMatchObject({ inflight: 0, acked: 20 });
  });

  it('.consume() - concurrency defaults to 1', async () => {
    const { queue } = setup<number>();
    const { handler, state, releaseAll } = gatedHandler<number>();
    queue.consume(handler);
    await queue.sendBatch([{ body: 1 }, { body: 2 }]);
    await turn();
    expect(state.running).toBe(1);
    releaseAll();
    await turn();
    releaseAll();
    await turn();
    expect(state.maxRunning).toBe(1);
    expect(state.started).toEqual([1, 2]);
  });

  it('.consume() - prefetch leases up to prefetch messages ahead while concurrency limits the handlers', async () => {
    const { queue } = setup<number>();
    const { handler, state, releaseAll } = gatedHandler<number>();
    queue.consume(handler, { concurrency: 1, prefetch: 4 });
    await queue.sendBatch(Array.from({ length: 6 }, (_, i) => ({ body: i })));
    await turn();
    expect(state.running).toBe(1);
    expect(await queue.stats()).toMatchObject({ inflight: 4, ready: 2 });
    for (let round = 0; round < 6; round++) {
      releaseAll();
      await turn();
    }
    expect(state.started).toEqual([0, 1, 2, 3, 4, 5]);
    expect(state.maxRunning).toBe(1);
  });

  it('.consume() - prefetch smaller than concurrency still fills every handler slot', async () => {
    const { queue } = setup<number>();
    const { handler, state } = gatedHandler<number>();
    queue.consume(handler, { concurrency: 4, prefetch: 1 });
    await queue.sendBatch(Array.from({ length: 6 }, (_, i) => ({ body: i })));
    await turn();
    expect(state.running).toBe(4);
    expect(await queue.stats()).toMatchObject({ inflight: 4, ready: 2 });
  });

  it('.consume() - rateLimit starts at most max handlers per interval, on the storage clock', async () => {
    const { queue, clock } = setup<number>();
    const started: [number, number][] = [];
    queue.consume(
      async (msg) => {
        started.push([msg.body, clock.now()]);
      },
      { concurrency: 10, rateLimit: { max: 2, interval: 1_000 } },
    );
    await queue.sendBatch(Array.from({ length: 5 }, (_, i) => ({ body: i })));
    await clock.advance(0);
    expect(started).toEqual([
      [0, 0],
      [1, 0],
    ]);
    await clock.advance(999);
    expect(started).toHaveLength(2);
    await clock.advance(1);
    expect(started).toEqual([
      [0, 0],
      [1, 0],
      [2, 1_000],
      [3, 1_000],
    ]);
    await clock.advance(1_000);
    expect(started.map(([body]) => body)).toEqual([0, 1, 2, 3, 4]);
    expect(started[4]).toEqual([4, 2_000]);
    expect(await queue.stats()).toMatchObject({ acked: 5 });
  });

  it('.consume() - aborting the signal stops the consumer gracefully', async () => {
    const { queue, clock } = setup<string>();
    const controller = new AbortController();
    const { handler, state, releaseAll } = gatedHandler<string>();
    queue.consume(handler, { signal: controller.signal });
    await queue.send('a');
    await turn();
    controller.abort();
    await queue.send('b');
    releaseAll();
    await clock.advance(0);
    expect(state.started).toEqual(['a']);
    expect(await queue.stats()).toMatchObject({ acked: 1, ready: 1, inflight: 0 });
  });

  it('.consume() - an already aborted signal takes no message', async () => {
    const { queue, clock } = setup();
    const handled: unknown[] = [];
    await queue.send('a');
    const consumer = queue.consume(async (msg) => void handled.push(msg.body), { signal: AbortSignal.abort() });
    await clock.advance(0);
    await consumer.stop();
    expect(handled).toEqual([]);
    expect(await queue.stats()).toMatchObject({ ready: 1, inflight: 0, delivered: 0 });
  });

  it('Consumer.stop() - finishes in-flight handlers (acking them) and takes no more', async () => {
    const { queue } = setup<string>();
    const { handler, state, releaseAll } = gatedHandler<string>();
    const consumer = queue.consume(handler, { concurrency: 2 });
    await queue.sendBatch([{ body: 'a' }, { body: 'b' }, { body: 'c' }]);
    await turn();
    let stopped = false;
    const stopping = consumer.stop().then(() => {
      stopped = true;
    });
    await turn();
    expect(stopped).toBe(false);
    releaseAll();
    await stopping;
    expect(state.started).toEqual(['a', 'b']);
    expect(await queue.stats()).toMatchObject({ acked: 2, ready: 1, inflight: 0 });
    await queue.send('d');
    await turn();
    expect(state.started).toEqual(['a', 'b']);
  });

  it('Consumer.stop() - resolves at once when nothing is running, and is idempotent', async () => {
    const { queue } = setup();
    const consumer = queue.consume(async () => {});
    await turn();
    const first = consumer.stop();
    expect(consumer.stop()).toBe(first);
    await expect(first).resolves.toBeUndefined();
  });

  it('Consumer.stop() - a handler that fails during stop is still retried, not lost', async () => {
    const { queue, clock } = setup({ backoff: { jitter: 'none', initial: 100 } });
    let fail!: () => void;
    const consumer = queue.consume(
      () =>
        new Promise<void>((_resolve, reject) => {
          fail = () => reject(new Error('late'));
        }),
    );
    await queue.send('x');
    await turn();
    const stopping = consumer.stop();
    fail();
    await stopping;
    expect(await queue.stats()).toMatchObject({ delayed: 1, retried: 1 });
    await clock.advance(100);
    expect(await queue.stats()).toMatchObject({ ready: 1 });
  });

  it('Consumer.pause() - stops taking messages until resume()', async () => {
    const { queue, clock } = setup<string>();
    const handled: string[] = [];
    const consumer = queue.consume(async (msg) => void handled.push(msg.body));
    consumer.pause();
    expect(consumer.isPaused).toBe(true);
    await queue.send('a');
    await clock.advance(1_000);
    expect(handled).toEqual([]);
    consumer.resume();
    expect(consumer.isPaused).toBe(false);
    await clock.advance(0);
    expect(handled).toEqual(['a']);
  });

  it('Consumer.pause() - lets running handlers finish', async () => {
    const { queue, clock } = setup<string>();
    const { handler, state, releaseAll } = gatedHandler<string>();
    const consumer = queue.consume(handler);
    await queue.sendBatch([{ body: 'a' }, { body: 'b' }]);
    await turn();
    consumer.pause();
    releaseAll();
    await clock.advance(0);
    expect(state.started).toEqual(['a']);
    expect(await queue.stats()).toMatchObject({ acked: 1, ready: 1 });
    consumer.resume();
    await turn();
    expect(state.started).toEqual(['a', 'b']);
  });

  it('Consumer.resume() - does nothing after stop()', async () => {
    const { queue, clock } = setup();
    const handled: unknown[] = [];
    const consumer = queue.consume(async (msg) => void handled.push(msg.body));
    await consumer.stop();
    consumer.resume();
    await queue.send('a');
    await clock.advance(0);
    expect(handled).toEqual([]);
  });

  it('.consume() - picks up a delayed message when it falls due', async () => {
    const { queue, clock } = setup<string>();
    const handled: [string, number][] = [];
    queue.consume(async (msg) => void handled.push([msg.body, clock.now()]));
    await queue.send('later', { delay: 2_000 });
    await clock.advance(1_999);
    expect(handled).toEqual([]);
    await clock.advance(1);
    expect(handled).toEqual([['later', 2_000]]);
  });

  it('.consume() - two consumers share the work, each message handled once', async () => {
    const { queue, clock } = setup<number>();
    const seen: number[] = [];
    queue.consume(async (msg) => void seen.push(msg.body), { concurrency: 2 });
    queue.consume(async (msg) => void seen.push(msg.body), { concurrency: 3 });
    await queue.sendBatch(Array.from({ length: 20 }, (_, i) => ({ body: i })));
    await clock.advance(0);
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('.consume() - a handler that settles its message itself is not acked again', async () => {
    const { queue, clock, dlq } = setup();
    queue.consume(async (msg) => {
      await msg.deadLetter('manual');
    });
    await queue.send('x');
    await clock.advance(0);
    expect(await queue.stats()).toMatchObject({ acked: 0, deadLettered: 1 });
    const [dead] = await dlq.receive();
    expect(dead?.headers[DEAD_LETTER_HEADERS.reason]).toBe('manual');
  });

  it('.consume() - runs handlers on a clock without track() (the system clock)', async () => {
    const queue = new Queue<string>('work', { storage: new MemoryStorage() });
    const handled = new Promise<string>((resolve) => queue.consume((msg) => resolve(msg.body)));
    await queue.send('x');
    expect(await handled).toBe('x');
    await queue.close();
  });
});
