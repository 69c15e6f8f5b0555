import { describe, expect, it } from 'vitest';
import { ClosedError, DEAD_LETTER_HEADERS, MemoryStorage, Queue, QueueFullError, type QueueOptions } from '../src/index.js';
import { TestClock } from '../src/testing.js';

/**
 * Lets every pending promise chain run (one turn of the event loop); MemoryStorage
 * does no I/O, so this is deterministic. Used where a handler is blocked on the test
 * itself, which `clock.advance()` would wait for.
 */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function setup<T = unknown>(options: Omit<QueueOptions, 'storage'> = {}, name = 'jobs') {
  const clock = new TestClock(1_000);
  const storage = new MemoryStorage({ clock });
  const queue = new Queue<T>(name, { storage, ...options });
  return { clock, storage, queue };
}

describe('Queue', () => {
  describe('.send()', () => {
    it('.send() - resolves with a unique id per message', async () => {
      const { queue } = setup<string>();
      const a = await queue.send('a');
      const b = await queue.send('b');
      expect(typeof a).toBe('string');
      expect(a).not.toBe(b);
      const received = await queue.receive({ max: 2 });
      expect(received.map((m) => m.id)).toEqual([a, b]);
    });

    it('.send() - every option reaches the delivered message', async () => {
      const { queue, clock } = setup<{ n: number }>();
      const id = await queue.send(
        { n: 1 },
        { priority: 3, ttl: 60_000, dedupeId: 'd-1', group: 'g-1', correlationId: 'c-1', headers: { type: 'x' }, subject: 'order.placed' },
      );
      const [msg] = await queue.receive();
      expect(msg).toMatchObject({
        id,
        body: { n: 1 },
        headers: { type: 'x' },
        attempt: 1,
        enqueuedAt: clock.now(),
        priority: 3,
        correlationId: 'c-1',
        group: 'g-1',
        subject: 'order.placed',
      });
    });

    it('.send() - unset options leave the message fields empty', async () => {
      const { queue } = setup();
      await queue.send('x');
      const [msg] = await queue.receive();
      expect(msg).toMatchObject({ headers: {}, priority: 0, correlationId: undefined, group: undefined, subject: undefined });
    });

    it('.send() - keeps the body by reference, including undefined', async () => {
      const { queue } = setup<unknown>();
      const body = { deep: [1, 2] };
      await queue.send(body);
      await queue.send(undefined);
      const [a, b] = await queue.receive({ max: 2 });
      expect(a!.body).toBe(body);
      expect(b!.body).toBeUndefined();
    });

    it('.send() - a delayed message is not delivered before its delay', async () => {
      const { queue, clock } = setup();
      await queue.send('later', { delay: 5_000 });
      expect(await queue.receive()).toEqual([]);
      expect(await queue.stats()).toMatchObject({ ready: 0, delayed: 1 });
      await clock.advance(4_999);
      expect(await queue.receive()).toEqual([]);
      await clock.advance(1);
      const [msg] = await queue.receive();
      expect(msg?.body).toBe('later');
    });

    it('.send() - higher priority is delivered first, FIFO within a priority', async () => {
      const { queue } = setup<string>();
      await queue.send('low', { priority: -1 });
      await queue.send('a0');
      await queue.send('a5', { priority: 5 });
      await queue.send('b0');
      await queue.send('b5', { priority: 5 });
      const received = await queue.receive({ max: 10 });
      expect(received.map((m) => m.body)).toEqual(['a5', 'b5', 'a0', 'b0', 'low']);
    });

    it('.send() - the same dedupeId within the window is stored once and returns the first id', async () => {
      const { queue, clock } = setup({ dedupeWindow: 10_000 });
      const first = await queue.send('one', { dedupeId: 'k' });
      await clock.advance(9_999);
      const second = await queue.send('two', { dedupeId: 'k' });
      expect(second).toBe(first);
      expect(await queue.stats()).toMatchObject({ ready: 1, sent: 1 });
      const [msg] = await queue.receive();
      expect(msg?.body).toBe('one');
    });

    it('.send() - the same dedupeId after the window is stored again', async () => {
      const { queue, clock } = setup({ dedupeWindow: 10_000 });
      const first = await queue.send('one', { dedupeId: 'k' });
      await clock.advance(10_000);
      const second = await queue.send('two', { dedupeId: 'k' });
      expect(second).not.toBe(first);
      expect(await queue.stats()).toMatchObject({ ready: 2 });
    });

    it('.send() - rejects with QueueFullError when maxLength is reached and stores nothing', async () => {
      const { queue } = setup({ maxLength: 2 });
      await queue.send('a');
      await queue.send('b');
      const error = await queue.send('c').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QueueFullError);
      expect(error).toMatchObject({ code: 'ERR_QUEUE_FULL', queue: 'jobs', maxLength: 2 });
      expect(await queue.stats()).toMatchObject({ ready: 2 });
      const received = await queue.receive({ max: 10 });
      expect(received.map((m) => m.body)).toEqual(['a', 'b']);
    });

    it('.send() - maxLength counts delayed messages but not messages in flight', async () => {
      const { queue } = setup({ maxLength: 2 });
      await queue.send('a');
      await queue.receive();
      await queue.send('b', { delay: 1_000 });
      await queue.send('c');
      await expect(queue.send('d')).rejects.toBeInstanceOf(QueueFullError);
    });

    it(".send() - overflow 'drop-oldest' dead-letters the oldest message with reason 'overflow'", async () => {
      const { queue, storage } = setup<string>({ maxLength: 2, overflow: 'drop-oldest' });
      const dead: [string, string][] = [];
      queue.on('dead', (msg, reason) => dead.push([msg.body, reason]));
      await queue.send('a');
      await queue.send('b');
      await queue.send('c');
      expect(dead).toEqual([['a', 'overflow']]);
      const kept = await queue.receive({ max: 10 });
      expect(kept.map((m) => m.body)).toEqual(['b', 'c']);
      const dlq = new Queue<string>('jobs.dlq', { storage });
      const [copy] = await dlq.receive();
      expect(copy?.body).toBe('a');
      expect(copy?.headers[DEAD_LETTER_HEADERS.reason]).toBe('overflow');
    });

    it(".send() - overflow 'drop-oldest' sheds the lowest priority first", async () => {
      const { queue } = setup<string>({ maxLength: 2, overflow: 'drop-oldest' });
      const dead: string[] = [];
      queue.on('dead', (msg) => dead.push(msg.body));
      await queue.send('high', { priority: 9 });
      await queue.send('low');
      await queue.send('new', { priority: 9 });
      expect(dead).toEqual(['low']);
    });
  });

  describe('.sendBatch()', () => {
    it('.sendBatch() - stores every item and resolves with their ids in order', async () => {
      const { queue } = setup<string>();
      const ids = await queue.sendBatch([{ body: 'a' }, { body: 'b', options: { priority: 1, headers: { h: '1' } } }, { body: 'c' }]);
      expect(ids).toHaveLength(3);
      expect(new Set(ids).size).toBe(3);
      const received = await queue.receive({ max: 10 });
      expect(received.map((m) => [m.id, m.body])).toEqual([
        [ids[1], 'b'],
        [ids[0], 'a'],
        [ids[2], 'c'],
      ]);
      expect(received[0]!.headers).toEqual({ h: '1' });
    });

    it('.sendBatch() - applies per-item delay', async () => {
      const { queue, clock } = setup<string>();
      await queue.sendBatch([{ body: 'now' }, { body: 'later', options: { delay: 100 } }]);
      expect((await queue.receive({ max: 10 })).map((m) => m.body)).toEqual(['now']);
      await clock.advance(100);
      expect((await queue.receive({ max: 10 })).map((m) => m.body)).toEqual(['later']);
    });

    it('.sendBatch() - an empty batch resolves with []', async () => {
      const { queue } = setup();
      expect(await queue.sendBatch([])).toEqual([]);
    });

    it('.sendBatch() - an invalid item rejects the whole batch and stores nothing', async () => {
      const { queue } = setup();
      const error = await queue.sendBatch([{ body: 'a' }, { body: 'b', options: { delay: -1 } }]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RangeError);
      expect((error as Error).message).toContain('items[1].options.delay');
      expect(await queue.stats()).toMatchObject({ ready: 0, delayed: 0, sent: 0 });
    });

    it('.sendBatch() - an item without a body rejects the whole batch and stores nothing', async () => {
      const { queue } = setup();
      const error = await queue.sendBatch([{ body: 'a' }, {} as never]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toContain('items[1]');
      expect(await queue.stats()).toMatchObject({ ready: 0, sent: 0 });
    });

    it('.sendBatch() - a batch that would exceed maxLength rejects with QueueFullError and stores nothing', async () => {
      const { queue } = setup({ maxLength: 3 });
      await queue.send('a');
      await expect(queue.sendBatch([{ body: 'b' }, { body: 'c' }, { body: 'd' }])).rejects.toBeInstanceOf(QueueFullError);
      expect(await queue.stats()).toMatchObject({ ready: 1, sent: 1 });
    });

    it('.sendBatch() - duplicates inside one batch are stored once', async () => {
      const { queue } = setup();
      const ids = await queue.sendBatch([
        { body: 'a', options: { dedupeId: 'k' } },
        { body: 'b', options: { dedupeId: 'k' } },
      ]);
      expect(ids[1]).toBe(ids[0]);
      expect(await queue.stats()).toMatchObject({ ready: 1 });
    });
  });

  describe('TTL', () => {
    it("TTL - a message not delivered within its ttl is gone with an 'expired' event", async () => {
      expect.assertions(4);
      const { queue, clock } = setup<string>();
      const id = await queue.send('short', { ttl: 1_000 });
      queue.on('expired', (msg) => {
        expect(msg.id).toBe(id);
        expect(msg.body).toBe('short');
      });
      await clock.advance(1_000);
      expect(await queue.receive()).toEqual([]);
      expect(await queue.stats()).toMatchObject({ ready: 0, expired: 1 });
    });

    it('TTL - a message delivered before its ttl is not expired', async () => {
      const { queue, clock } = setup();
      const expired: string[] = [];
      queue.on('expired', (msg) => expired.push(msg.id));
      await queue.send('x', { ttl: 1_000 });
      const [msg] = await queue.receive();
      await clock.advance(5_000);
      expect(expired).toEqual([]);
      expect(await msg!.ack()).toBe(true);
    });
  });

  describe('visibility timeout', () => {
    it('visibility timeout - an unsettled delivery is redelivered after visibilityTimeout with attempt + 1', async () => {
      const { queue, clock } = setup({ visibilityTimeout: 1_000 });
      const id = await queue.send('x');
      const [first] = await queue.receive();
      expect(first!.attempt).toBe(1);
      await clock.advance(999);
      expect(await queue.receive()).toEqual([]);
      await clock.advance(1);
      const [second] = await queue.receive();
      expect(second).toMatchObject({ id, attempt: 2 });
    });

    it("visibility timeout - a lease that runs out on the last attempt dead-letters the message with reason 'max-attempts'", async () => {
      const { queue, clock, storage } = setup({ visibilityTimeout: 1_000, maxAttempts: 2 });
      const dead: string[] = [];
      queue.on('dead', (_msg, reason) => dead.push(reason));
      await queue.send('x');
      await queue.receive();
      await clock.advance(1_000);
      await queue.receive();
      await clock.advance(1_000);
      expect(await queue.receive()).toEqual([]);
      expect(dead).toEqual(['max-attempts']);
      const [copy] = await new Queue('jobs.dlq', { storage }).receive();
      expect(copy?.headers).toMatchObject({
        [DEAD_LETTER_HEADERS.reason]: 'max-attempts',
        [DEAD_LETTER_HEADERS.queue]: 'jobs',
        [DEAD_LETTER_HEADERS.attempts]: '2',
      });
    });
  });

  describe('FIFO groups', () => {
    it('FIFO groups - delivers one message per group at a time, in send order', async () => {
      const { queue } = setup<string>();
      await queue.send('g1-1', { group: 'g1' });
      await queue.send('g1-2', { group: 'g1' });
      await queue.send('g2-1', { group: 'g2' });
      await queue.send('g1-3', { group: 'g1' });
      await queue.send('free');
      const first = await queue.receive({ max: 10 });
      expect(first.map((m) => m.body)).toEqual(['g1-1', 'g2-1', 'free']);
      expect(await queue.receive({ max: 10 })).toEqual([]);
      await first[0]!.ack();
      expect((await queue.receive({ max: 10 })).map((m) => m.body)).toEqual(['g1-2']);
    });

    it('FIFO groups - a retrying message holds its group back until it succeeds', async () => {
      const { queue, clock } = setup<string>();
      await queue.send('g-1', { group: 'g' });
      await queue.send('g-2', { group: 'g' });
      const [first] = await queue.receive();
      await first!.nack({ delay: 1_000 });
      expect(await queue.receive({ max: 10 })).toEqual([]);
      expect(await queue.stats()).toMatchObject({ ready: 1, delayed: 1 });
      await clock.advance(1_000);
      const [again] = await queue.receive({ max: 10 });
      expect(again).toMatchObject({ body: 'g-1', attempt: 2 });
      await again!.ack();
      expect((await queue.receive({ max: 10 })).map((m) => m.body)).toEqual(['g-2']);
    });

    it('FIFO groups - a delayed head holds its group until it falls due', async () => {
      const { queue, clock } = setup<string>();
      await queue.send('first', { group: 'g', delay: 1_000 });
      await queue.send('second', { group: 'g' });
      expect(await queue.receive({ max: 10 })).toEqual([]);
      await clock.advance(1_000);
      const [first] = await queue.receive({ max: 10 });
      expect(first?.body).toBe('first');
    });

    it('FIFO groups - a lease that runs out gives the head back before the rest of its group', async () => {
      const { queue, clock } = setup<string>({ visibilityTimeout: 100 });
      await queue.send('g-1', { group: 'g' });
      await queue.send('g-2', { group: 'g' });
      await queue.receive();
      await clock.advance(100);
      const received = await queue.receive({ max: 10 });
      expect(received.map((m) => [m.body, m.attempt])).toEqual([['g-1', 2]]);
    });

    it('FIFO groups - a consumer with concurrency handles a group in order', async () => {
      const { queue, clock } = setup<number>({ backoff: { jitter: 'none', initial: 100 } });
      const seen: string[] = [];
      let failedOnce = false;
      for (let i = 1; i <= 4; i++) await queue.send(i, { group: 'g' });
      queue.consume(
        async (msg) => {
          seen.push(`${msg.body}@${msg.attempt}`);
          if (msg.body === 2 && !failedOnce) {
            failedOnce = true;
            throw new Error('once');
          }
        },
        { concurrency: 4 },
      );
      await clock.advance(1_000);
      expect(seen).toEqual(['1@1', '2@1', '2@2', '3@1', '4@1']);
    });
  });

  describe('.idle()', () => {
    it('.idle() - resolves at once when the queue is empty', async () => {
      const { queue } = setup();
      await expect(queue.idle()).resolves.toBeUndefined();
    });

    it('.idle() - waits through delays, retries and in-flight handlers', async () => {
      const { queue, clock } = setup({ backoff: { jitter: 'none', initial: 1_000 } });
      let calls = 0;
      queue.consume(async () => {
        calls++;
        if (calls === 1) throw new Error('first try fails');
      });
      await queue.send('x', { delay: 500 });
      let idle = false;
      const done = queue.idle().then(() => {
        idle = true;
      });
      await clock.advance(500);
      expect(calls).toBe(1);
      expect(idle).toBe(false);
      await clock.advance(999);
      expect(idle).toBe(false);
      await clock.advance(1);
      await done;
      expect(calls).toBe(2);
      expect(idle).toBe(true);
    });

    it('.idle() - resolves when the last waiting message expires', async () => {
      const { queue, clock } = setup();
      await queue.send('x', { ttl: 300 });
      let idle = false;
      const done = queue.idle().then(() => {
        idle = true;
      });
      await clock.advance(299);
      expect(idle).toBe(false);
      await clock.advance(1);
      await done;
      expect(idle).toBe(true);
    });

    it('.idle() - resolves once a failing message is dead-lettered', async () => {
      const { queue, clock } = setup({ maxAttempts: 2, backoff: () => 100 });
      queue.consume(async () => {
        throw new Error('always');
      });
      await queue.send('x');
      const done = queue.idle();
      await clock.advance(100);
      await done;
      expect(await queue.stats()).toMatchObject({ ready: 0, delayed: 0, inflight: 0, deadLettered: 1 });
    });

    it('.idle() - several waiting idle() calls resolve together once the queue is empty', async () => {
      const { queue, clock } = setup();
      await queue.sendBatch([{ body: 'a' }, { body: 'b' }]);
      const waits = [queue.idle(), queue.idle()];
      let resolved = 0;
      for (const wait of waits) void wait.then(() => resolved++);
      const [a] = await queue.receive();
      await a!.ack();
      await clock.advance(0);
      expect(resolved).toBe(0);
      const [b] = await queue.receive();
      await b!.ack();
      await Promise.all(waits);
      expect(resolved).toBe(2);
    });

    it('.idle() - rejects with the error of a failed look at the queue', async () => {
      class FailingStats extends MemoryStorage {
        fail = false;
        override stats(queue: string, now: number) {
          return this.fail ? Promise.reject(new Error('stats failed')) : super.stats(queue, now);
        }
      }
      const storage = new FailingStats({ clock: new TestClock() });
      const queue = new Queue('jobs', { storage });
      await queue.send('x');
      const idle = queue.idle();
      const [msg] = await queue.receive();
      storage.fail = true;
      await msg!.ack();
      await expect(idle).rejects.toThrow('stats failed');
    });

    it('.idle() - waits for a received message to be settled', async () => {
      const { queue, clock } = setup();
      await queue.send('x');
      const [msg] = await queue.receive();
      let idle = false;
      const done = queue.idle().then(() => {
        idle = true;
      });
      await clock.advance(10);
      expect(idle).toBe(false);
      await msg!.ack();
      await done;
      expect(idle).toBe(true);
    });
  });

  describe('.stats()', () => {
    it('.stats() - counts ready, delayed and in-flight messages and lifetime counters', async () => {
      const { queue } = setup({ maxAttempts: 2 });
      await queue.send('a');
      await queue.send('b');
      await queue.send('c');
      await queue.send('d', { delay: 1_000 });
      const [a, b, c] = await queue.receive({ max: 3 });
      await a!.ack();
      await b!.nack({ delay: 0 });
      await c!.deadLetter('bad');
      const [b2] = await queue.receive();
      expect(await queue.stats()).toEqual({
        ready: 0,
        delayed: 1,
        inflight: 1,
        sent: 4,
        delivered: 4,
        acked: 1,
        retried: 1,
        deadLettered: 1,
        expired: 0,
      });
      await b2!.ack();
    });
  });

  describe('.purge()', () => {
    it('.purge() - removes ready and delayed messages, leaves messages in flight, resolves with the count', async () => {
      const { queue } = setup();
      await queue.send('inflight');
      const [msg] = await queue.receive();
      await queue.send('ready');
      await queue.send('delayed', { delay: 1_000 });
      expect(await queue.purge()).toBe(2);
      expect(await queue.stats()).toMatchObject({ ready: 0, delayed: 0, inflight: 1 });
      expect(await msg!.ack()).toBe(true);
    });
  });

  describe('.peek()', () => {
    it('.peek() - lists ready messages in delivery order without leasing them', async () => {
      const { queue } = setup<string>();
      await queue.send('a');
      await queue.send('b', { priority: 1 });
      await queue.send('c', { delay: 10 });
      const peeked = await queue.peek();
      expect(peeked.map((m) => [m.body, m.attempt])).toEqual([
        ['b', 0],
        ['a', 0],
      ]);
      expect(await queue.stats()).toMatchObject({ ready: 2, inflight: 0 });
      expect((await queue.peek(1)).map((m) => m.body)).toEqual(['b']);
    });
  });

  describe('.close()', () => {
    it('.close() - later calls reject with ClosedError', async () => {
      const { queue } = setup();
      await queue.close();
      await expect(queue.send('x')).rejects.toBeInstanceOf(ClosedError);
      await expect(queue.sendBatch([{ body: 'x' }])).rejects.toBeInstanceOf(ClosedError);
      await expect(queue.receive()).rejects.toBeInstanceOf(ClosedError);
      await expect(queue.idle()).rejects.toBeInstanceOf(ClosedError);
      await expect(queue.stats()).rejects.toBeInstanceOf(ClosedError);
      await expect(queue.purge()).rejects.toBeInstanceOf(ClosedError);
      await expect(queue.peek()).rejects.toBeInstanceOf(ClosedError);
      expect(() => queue.consume(async () => {})).toThrow(ClosedError);
      await expect(queue.close()).resolves.toBeUndefined();
    });

    it('.close() - a waiting receive() rejects with ClosedError', async () => {
      const { queue } = setup();
      const waiting = queue.receive({ wait: 60_000 });
      await queue.close();
      await expect(waiting).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    });

    it('.close() - a waiting idle() rejects with ClosedError', async () => {
      const { queue } = setup();
      await queue.send('x', { delay: 1_000 });
      const idle = queue.idle();
      await queue.close();
      await expect(idle).rejects.toBeInstanceOf(ClosedError);
    });

    it('.close() - consumers finish their in-flight handlers, which are acked, and stop taking', async () => {
      const { queue, storage } = setup<string>();
      let release!: () => void;
      const handled: string[] = [];
      queue.consume(async (msg) => {
        handled.push(msg.body);
        await new Promise<void>((resolve) => {
          release = resolve;
        });
      });
      await queue.send('a');
      await queue.send('b');
      await turn();
      expect(handled).toEqual(['a']);
      const closing = queue.close();
      release();
      await closing;
      expect(handled).toEqual(['a']);
      const other = new Queue('jobs', { storage });
      expect(await other.stats()).toMatchObject({ ready: 1, inflight: 0, acked: 1 });
    });

    it('.close() - leaves the storage and its messages to other handles', async () => {
      const { queue, storage } = setup<string>();
      await queue.send('kept');
      await queue.close();
      const [msg] = await new Queue<string>('jobs', { storage }).receive();
      expect(msg?.body).toBe('kept');
    });
  });

  describe('handles', () => {
    it('handles - two handles with the same name and no storage share the default storage', async () => {
      const name = `shared-${Math.random().toString(36).slice(2)}`;
      const a = new Queue<string>(name);
      const b = new Queue<string>(name);
      expect(a.storage).toBe(b.storage);
      await a.send('hello');
      const [msg] = await b.receive();
      expect(msg?.body).toBe('hello');
      expect(await msg!.ack()).toBe(true);
    });

    it('handles - two handles on the same storage see the same messages, options stay per handle', async () => {
      const { storage, queue } = setup({ maxAttempts: 1 });
      const other = new Queue('jobs', { storage, maxAttempts: 5 });
      await other.send('x');
      const [msg] = await queue.receive();
      await msg!.nack();
      expect(await queue.stats()).toMatchObject({ ready: 0, deadLettered: 1 });
    });

    it('handles - a queue on a different storage does not see the messages', async () => {
      const { queue } = setup();
      const other = new Queue('jobs', { storage: new MemoryStorage({ clock: new TestClock() }) });
      await queue.send('x');
      expect(await other.receive()).toEqual([]);
    });
  });
});
