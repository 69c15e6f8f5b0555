/**
 * The storage contract: one suite that every Storage adapter runs (mqemitter's
 * abstractTest, @keyv/test-suite). An adapter's test file calls
 *
 * ```ts
 * describeStorage('FileStorage', async (clock) => {
 *   const dir = mkdtempSync(join(tmpdir(), 'pocketmq-'));
 *   return { storage: new FileStorage({ dir, clock }), cleanup: async () => rmSync(dir, { recursive: true }) };
 * });
 * ```
 *
 * and then adds its own tests. Every test calls `make` once with a fresh TestClock and
 * expects an empty storage whose time is that clock; at the end the suite closes the
 * storage and then calls `cleanup`. Times passed to the storage come from the clock.
 *
 * Adapters may hand out new objects or live records, so messages are compared by
 * their fields, never by identity. Signals are awaited as they arrive (Redis sends
 * them through pub/sub), never by waiting a fixed time.
 */
import { describe, expect, it } from 'vitest';
import { ClosedError, LeaseLostError } from '../src/errors.js';
import type { Message } from '../src/message.js';
import { Queue } from '../src/queue.js';
import type {
  ClaimRequest,
  EnqueuePolicy,
  NewMessage,
  Receipt,
  Storage,
  StorageSignal,
  StoredMessage,
  StoredSchedule,
} from '../src/storage/storage.js';
import { TestClock } from '../src/test-clock.js';
import { countingStorage } from './helpers/counting-storage.js';
import { newMessage } from './helpers/new-message.js';

/** Makes one empty storage on `clock`, and optionally how to remove what it left behind. */
export type StorageFactory = (clock: TestClock) => Promise<{ storage: Storage; cleanup?: () => Promise<void> }>;

/** Where every test's clock starts: far from 0, so an adapter that mistakes 0 for "unset" shows it. */
const START = 1_700_000_000_000;
const QUEUE = 'jobs';
const DLQ = 'jobs.dlq';

interface Context {
  storage: Storage;
  /** A TestClock on which handlers can take simulated time (`handlerSleep`). */
  clock: TestClock;
}

/** A message as `Queue.send()` would build it at `now`; `fields` override. */
function message(id: string, now: number, fields: Partial<NewMessage> & { delay?: number; ttl?: number } = {}): NewMessage {
  const { delay = 0, ttl, ...rest } = fields;
  return newMessage(id, now, { availableAt: now + delay, expiresAt: ttl === undefined ? undefined : now + ttl, ...rest });
}

const policy = (overrides: Partial<EnqueuePolicy> = {}): EnqueuePolicy => ({
  maxLength: undefined,
  overflow: 'reject',
  deadLetter: DLQ,
  dedupeWindow: 60_000,
  ...overrides,
});

const claimRequest = (overrides: Partial<ClaimRequest> = {}): ClaimRequest => ({
  max: 10,
  leaseMs: 1_000,
  maxAttempts: 3,
  deadLetter: DLQ,
  ...overrides,
});

/** The stored fields of a message as a plain object: adapters may differ in identity, not in these. */
function fields(m: StoredMessage): StoredMessage {
  return {
    id: m.id,
    body: m.body,
    headers: m.headers,
    priority: m.priority,
    enqueuedAt: m.enqueuedAt,
    availableAt: m.availableAt,
    expiresAt: m.expiresAt,
    dedupeId: m.dedupeId,
    group: m.group,
    correlationId: m.correlationId,
    subject: m.subject,
    attempt: m.attempt,
  };
}

/** Resolves with the first signal that matches; the test's timeout fails it if none comes. */
function nextSignal<S extends StorageSignal>(storage: Storage, match: (signal: StorageSignal) => signal is S): Promise<S>;
function nextSignal(storage: Storage, match: (signal: StorageSignal) => boolean): Promise<StorageSignal>;
function nextSignal(storage: Storage, match: (signal: StorageSignal) => boolean): Promise<StorageSignal> {
  return new Promise((resolve) => {
    const unwatch = storage.watch((signal) => {
      if (!match(signal)) return;
      unwatch();
      resolve(signal);
    });
  });
}

/**
 * Runs the storage contract against the adapter that `make` builds. Keep this
 * signature stable: FileStorage and RedisStorage tests (and later third-party
 * adapters) call it.
 */
export function describeStorage(name: string, make: StorageFactory): void {
  /** A test with its own storage on its own clock, closed and cleaned up afterwards. */
  function contract(title: string, body: (context: Context) => Promise<void>): void {
    it(title, async () => {
      const clock = new TestClock(START);
      const { storage, cleanup } = await make(clock);
      try {
        await body({ storage, clock });
      } finally {
        await storage.close();
        await cleanup?.();
      }
    });
  }

  async function enqueue({ storage, clock }: Context, items: readonly NewMessage[], queue = QUEUE, overrides: Partial<EnqueuePolicy> = {}) {
    return storage.enqueue(queue, items, policy(overrides), clock.now());
  }

  async function claim({ storage, clock }: Context, overrides: Partial<ClaimRequest> = {}, queue = QUEUE) {
    return storage.claim(queue, claimRequest(overrides), clock.now());
  }

  async function claimIds(context: Context, overrides: Partial<ClaimRequest> = {}, queue = QUEUE): Promise<string[]> {
    const { delivered } = await claim(context, overrides, queue);
    return delivered.map((d) => d.message.id);
  }

  async function claimOne(context: Context, queue = QUEUE, overrides: Partial<ClaimRequest> = {}) {
    const { delivered } = await claim(context, { ...overrides, max: 1 }, queue);
    expect(delivered).toHaveLength(1);
    return { message: fields(delivered[0]!.message), receipt: delivered[0]!.receipt };
  }

  async function stats({ storage, clock }: Context, queue = QUEUE) {
    return storage.stats(queue, clock.now());
  }

  async function peekIds({ storage, clock }: Context, queue = QUEUE, max = 100): Promise<string[]> {
    return (await storage.peek(queue, max, clock.now())).map((m) => m.id);
  }

  async function ack({ storage, clock }: Context, receipt: Receipt) {
    const [settle] = await storage.ack(QUEUE, [receipt], clock.now());
    return settle;
  }

  describe(`${name}: storage contract`, () => {
    describe('enqueue and claim', () => {
      contract('.claim() - delivers higher priority first, FIFO within a priority', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now), message('b', now, { priority: 5 }), message('c', now)]);
        await enqueue(c, [message('d', now, { priority: 5 }), message('e', now, { priority: -1 }), message('f', now, { priority: 1 })]);
        expect(await claimIds(c)).toEqual(['b', 'd', 'f', 'a', 'c', 'e']);
      });

      contract('.claim() - leases at most `max` messages and leaves the rest ready', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now), message('b', now), message('c', now)]);
        expect(await claimIds(c, { max: 2 })).toEqual(['a', 'b']);
        expect(await stats(c)).toMatchObject({ ready: 1, delayed: 0, inflight: 2 });
        expect(await claimIds(c, { max: 2 })).toEqual(['c']);
        expect(await claimIds(c, { max: 2 })).toEqual([]);
      });

      contract('.enqueue() - stores every field, and .claim() hands them back with attempt 1', async (c) => {
        const now = c.clock.now();
        const sent = message('a', now, {
          body: { nested: { list: [1, 'two', null] }, text: 'héllo' },
          headers: { type: 'order', trace: 'x1' },
          priority: 3,
          ttl: 60_000,
          dedupeId: 'order-1',
          group: 'customer-1',
          correlationId: 'corr-1',
          subject: 'order.placed',
        });
        const result = await enqueue(c, [sent]);
        expect(result).toEqual({ results: [{ id: 'a', status: 'stored' }], full: false, dropped: [] });
        const { message: delivered, receipt } = await claimOne(c);
        expect(delivered).toEqual({ ...sent, attempt: 1 });
        expect(receipt.id).toBe('a');
      });

      contract('.claim() - on a queue that never had messages delivers nothing', async (c) => {
        expect(await claim(c, {}, 'jobs.empty')).toEqual({ delivered: [], deadLettered: [] });
      });

      contract('.claim() - delivers messages that fall due at the same time in send order', async (c) => {
        const now = c.clock.now();
        const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
        await enqueue(c, ids.map((id) => message(id, now, { delay: 100 })));
        await c.clock.advance(100);
        expect(await claimIds(c)).toEqual(ids);
      });

      contract('.claim() - delivers delayed messages in the order they fell due', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('late', now, { delay: 300 }), message('early', now, { delay: 100 }), message('middle', now, { delay: 200 })]);
        await c.clock.advance(500);
        expect(await claimIds(c)).toEqual(['early', 'middle', 'late']);
      });

      contract('.claim() - gives each lease its own receipt', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now), message('b', now)]);
        const { delivered } = await claim(c);
        const [first, second] = delivered.map((d) => d.receipt);
        expect(first!.id).toBe('a');
        expect(second!.id).toBe('b');
        expect(first!.token).not.toBe(second!.token);
      });
    });

    describe('FIFO groups', () => {
      contract('.claim() - delivers a group in order with at most one message in flight', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [
          message('g1', now, { group: 'g' }),
          message('g2', now, { group: 'g' }),
          message('x', now),
          message('g3', now, { group: 'g', priority: 9 }),
        ]);
        const { delivered } = await claim(c);
        expect(delivered.map((d) => d.message.id)).toEqual(['g1', 'x']);
        expect(await claimIds(c)).toEqual([]);
        expect(await ack(c, delivered[0]!.receipt)).toBe('ok');
        const second = await claimOne(c);
        expect(second.message.id).toBe('g2');
        expect(await ack(c, second.receipt)).toBe('ok');
        expect(await claimIds(c)).toEqual(['g3']);
      });

      contract('.claim() - keeps groups independent of each other', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a1', now, { group: 'a' }), message('a2', now, { group: 'a' }), message('b1', now, { group: 'b' }), message('b2', now, { group: 'b' })]);
        expect(await claimIds(c)).toEqual(['a1', 'b1']);
      });

      contract('.release() - a released head holds its group back until it is delivered and acked', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('g1', now, { group: 'g' }), message('g2', now, { group: 'g' })]);
        const first = await claimOne(c);
        expect(await c.storage.release(QUEUE, first.receipt, c.clock.now() + 100, c.clock.now())).toBe('ok');
        expect(await claimIds(c)).toEqual([]);
        expect(await stats(c)).toMatchObject({ ready: 1, delayed: 1, inflight: 0 });
        await c.clock.advance(100);
        const again = await claimOne(c);
        expect(again.message).toMatchObject({ id: 'g1', attempt: 2 });
        expect(await claimIds(c)).toEqual([]);
        expect(await ack(c, again.receipt)).toBe('ok');
        expect(await claimIds(c)).toEqual(['g2']);
      });

      contract('.claim() - a head whose lease ran out is delivered again before the rest of its group', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('g1', now, { group: 'g' }), message('g2', now, { group: 'g' })]);
        await claimOne(c, QUEUE, { leaseMs: 50 });
        await c.clock.advance(50);
        const again = await claimOne(c);
        expect(again.message).toMatchObject({ id: 'g1', attempt: 2 });
      });

      contract('.stats() - counts a message behind its group as ready even while its own delay runs', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('g1', now, { group: 'g' }), message('g2', now, { group: 'g', delay: 500 })]);
        expect(await stats(c)).toMatchObject({ ready: 2, delayed: 0, inflight: 0 });
        const head = await claimOne(c);
        expect(await stats(c)).toMatchObject({ ready: 1, delayed: 0, inflight: 1 });
        await ack(c, head.receipt);
        expect(await stats(c)).toMatchObject({ ready: 0, delayed: 1, inflight: 0 });
        await c.clock.advance(500);
        expect(await claimIds(c)).toEqual(['g2']);
      });

      contract('.ack() - an acked head lets the next member go even when that one expired meanwhile', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('g1', now, { group: 'g' }), message('g2', now, { group: 'g', ttl: 100 }), message('g3', now, { group: 'g' })]);
        const head = await claimOne(c);
        await c.clock.advance(200);
        await ack(c, head.receipt);
        expect(await claimIds(c)).toEqual(['g3']);
        expect(await stats(c)).toMatchObject({ expired: 1 });
      });
    });

    describe('delays', () => {
      contract('.claim() - does not deliver a delayed message before availableAt, and does at it', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('later', now, { delay: 1_000 })]);
        expect(await stats(c)).toMatchObject({ ready: 0, delayed: 1 });
        await c.clock.advance(999);
        expect(await claimIds(c)).toEqual([]);
        expect(await peekIds(c)).toEqual([]);
        await c.clock.advance(1);
        expect(await stats(c)).toMatchObject({ ready: 1, delayed: 0 });
        expect(await claimIds(c)).toEqual(['later']);
      });

      contract('.claim() - puts a message that falls due behind those already ready at its priority', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('delayed', now, { delay: 100 })]);
        await c.clock.advance(100);
        await enqueue(c, [message('ready', c.clock.now())]);
        expect(await claimIds(c)).toEqual(['delayed', 'ready']);
      });

      contract('.claim() - orders messages by when they became ready, however late the storage looks', async (c) => {
        // In time order: g1's lease ends (+4), d's delay passes (+10), g1 expires and lets g2 go (+15).
        const now = c.clock.now();
        await enqueue(c, [message('g1', now, { group: 'g', ttl: 15 }), message('x', now)]);
        await claimOne(c, QUEUE, { leaseMs: 4 });
        await enqueue(c, [message('d', now, { delay: 10 }), message('g2', now, { group: 'g' })]);
        await c.clock.advance(40);
        expect(await claimIds(c)).toEqual(['x', 'd', 'g2']);
      });
    });

    describe('TTL', () => {
      contract('.stats() - a message whose ttl passes while it waits is gone and counted as expired', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('short', now, { ttl: 100 }), message('long', now, { ttl: 1_000 })]);
        await c.clock.advance(99);
        expect(await peekIds(c)).toEqual(['short', 'long']);
        await c.clock.advance(1);
        expect(await stats(c)).toMatchObject({ ready: 1, expired: 1 });
        expect(await claimIds(c)).toEqual(['long']);
      });

      contract('.tick() - signals messages whose ttl passed with an `expired` signal', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now, { ttl: 100 }), message('b', now, { ttl: 100, delay: 500 })]);
        await c.clock.advance(100);
        const expired = nextSignal(c.storage, (s): s is Extract<StorageSignal, { type: 'expired' }> => s.type === 'expired');
        await c.storage.tick(c.clock.now());
        const signal = await expired;
        expect(signal.queue).toBe(QUEUE);
        expect(signal.messages.map((m) => m.id).sort()).toEqual(['a', 'b']);
        expect(await stats(c)).toMatchObject({ ready: 0, delayed: 0, expired: 2 });
      });

      contract('.claim() - a message in flight does not expire; released after its ttl it does', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now, { ttl: 100 })]);
        const { receipt } = await claimOne(c, QUEUE, { leaseMs: 10_000 });
        await c.clock.advance(500);
        expect(await stats(c)).toMatchObject({ inflight: 1, expired: 0 });
        expect(await c.storage.release(QUEUE, receipt, c.clock.now(), c.clock.now())).toBe('ok');
        expect(await stats(c)).toMatchObject({ ready: 0, delayed: 0, inflight: 0, expired: 1 });
        expect(await claimIds(c)).toEqual([]);
      });

      contract('.claim() - a message whose ttl passed during its lease expires when the lease ends', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now, { ttl: 100 })]);
        await claimOne(c, QUEUE, { leaseMs: 300 });
        await c.clock.advance(300);
        expect(await claimIds(c)).toEqual([]);
        expect(await stats(c)).toMatchObject({ inflight: 0, expired: 1 });
      });

      contract('.release() - a retry due after the ttl expires at the ttl', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now, { ttl: 300 })]);
        const { receipt } = await claimOne(c);
        expect(await c.storage.release(QUEUE, receipt, now + 1_000, now)).toBe('ok');
        await c.clock.advance(299);
        expect(await stats(c)).toMatchObject({ delayed: 1, expired: 0 });
        await c.clock.advance(1);
        expect(await stats(c)).toMatchObject({ delayed: 0, expired: 1 });
      });
    });

    describe('leases', () => {
      contract('.claim() - a message whose lease ran out is delivered again with its attempts counted', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now)]);
        await claimOne(c, QUEUE, { leaseMs: 1_000 });
        await c.clock.advance(999);
        expect(await claimIds(c)).toEqual([]);
        await c.clock.advance(1);
        expect(await stats(c)).toMatchObject({ ready: 1, inflight: 0 });
        const again = await claimOne(c);
        expect(again.message).toMatchObject({ id: 'a', attempt: 2 });
        expect(await stats(c)).toMatchObject({ delivered: 2, retried: 0 });
      });

      contract('a stale receipt is refused with `stale` after redelivery, and the current one works', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now)]);
        const old = await claimOne(c, QUEUE, { leaseMs: 100 });
        await c.clock.advance(100);
        const current = await claimOne(c, QUEUE, { leaseMs: 10_000 });
        const t = c.clock.now();
        expect(await c.storage.ack(QUEUE, [old.receipt], t)).toEqual(['stale']);
        expect(await c.storage.release(QUEUE, old.receipt, t, t)).toBe('stale');
        expect(await c.storage.deadLetter(QUEUE, old.receipt, DLQ, { reason: 'rejected' }, t)).toBe('stale');
        expect(await c.storage.extend(QUEUE, old.receipt, t + 50_000, t)).toBe('stale');
        expect(await stats(c)).toMatchObject({ inflight: 1, acked: 0, retried: 0, deadLettered: 0 });
        expect(await c.storage.ack(QUEUE, [current.receipt], t)).toEqual(['ok']);
      });

      contract('a receipt whose lease ran out is `stale` before the message is delivered again', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now)]);
        const old = await claimOne(c, QUEUE, { leaseMs: 100 });
        await c.clock.advance(100);
        expect(await ack(c, old.receipt)).toBe('stale');
        expect(await claimIds(c)).toEqual(['a']);
      });

      contract('every settle of an acked message answers `missing`', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now)]);
        const { receipt } = await claimOne(c);
        expect(await ack(c, receipt)).toBe('ok');
        const t = c.clock.now();
        expect(await c.storage.ack(QUEUE, [receipt], t)).toEqual(['missing']);
        expect(await c.storage.release(QUEUE, receipt, t, t)).toBe('missing');
        expect(await c.storage.deadLetter(QUEUE, receipt, DLQ, { reason: 'rejected' }, t)).toBe('missing');
        expect(await c.storage.extend(QUEUE, receipt, t + 1_000, t)).toBe('missing');
        expect(await c.storage.ack('other-queue', [receipt], t)).toEqual(['missing']);
        expect(await stats(c)).toMatchObject({ acked: 1 });
      });

      contract('.ack() - settles each receipt of a batch on its own', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now), message('b', now)]);
        const { delivered } = await claim(c);
        const [a, b] = delivered.map((d) => d.receipt);
        expect(await c.storage.ack(QUEUE, [a!, b!, a!], c.clock.now())).toEqual(['ok', 'ok', 'missing']);
        expect(await stats(c)).toMatchObject({ ready: 0, inflight: 0, acked: 2 });
      });

      contract('.extend() - moves the end of the lease', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now)]);
        const { receipt } = await claimOne(c, QUEUE, { leaseMs: 1_000 });
        expect(await c.storage.extend(QUEUE, receipt, now + 5_000, now)).toBe('ok');
        await c.clock.advance(4_999);
        expect(await claimIds(c)).toEqual([]);
        expect(await stats(c)).toMatchObject({ inflight: 1 });
        await c.clock.advance(1);
        expect(await claimIds(c)).toEqual(['a']);
        expect(await ack(c, receipt)).toBe('stale');
      });

      contract('.extend() - can shorten a lease', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now)]);
        const { receipt } = await claimOne(c, QUEUE, { leaseMs: 10_000 });
        expect(await c.storage.extend(QUEUE, receipt, now + 100, now)).toBe('ok');
        await c.clock.advance(100);
        expect(await claimIds(c)).toEqual(['a']);
      });
    });

    describe('release', () => {
      contract('.release() - makes the message deliverable again at dueAt, not before', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now)]);
        const { receipt } = await claimOne(c);
        expect(await c.storage.release(QUEUE, receipt, now + 200, now)).toBe('ok');
        expect(await stats(c)).toMatchObject({ ready: 0, delayed: 1, inflight: 0, retried: 1 });
        await c.clock.advance(199);
        expect(await claimIds(c)).toEqual([]);
        await c.clock.advance(1);
        const again = await claimOne(c);
        expect(again.message).toMatchObject({ id: 'a', attempt: 2 });
      });

      contract('.release() - puts a message released for now at the tail of its priority', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now), message('b', now), message('c', now), message('high', now, { priority: 1 })]);
        const high = await claimOne(c);
        const a = await claimOne(c);
        expect(await c.storage.release(QUEUE, a.receipt, now, now)).toBe('ok');
        expect(await c.storage.release(QUEUE, high.receipt, now, now)).toBe('ok');
        expect(await peekIds(c)).toEqual(['high', 'b', 'c', 'a']);
        expect(await claimIds(c)).toEqual(['high', 'b', 'c', 'a']);
      });
    });

    describe('dead letters', () => {
      contract('.deadLetter() - moves the message to the target with its story in the headers', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now, { headers: { type: 'order' }, priority: 2, correlationId: 'c1', subject: 's.x' })]);
        const first = await claimOne(c, QUEUE, { leaseMs: 100 });
        await c.clock.advance(100);
        const second = await claimOne(c);
        await c.clock.advance(50);
        const t = c.clock.now();
        expect(await c.storage.deadLetter(QUEUE, second.receipt, DLQ, { reason: 'invalid', error: 'bad input' }, t)).toBe('ok');
        expect(await stats(c)).toMatchObject({ ready: 0, inflight: 0, deadLettered: 1 });
        expect(await ack(c, first.receipt)).toBe('missing');
        const [copy] = await c.storage.peek(DLQ, 10, t);
        expect(copy).toBeDefined();
        expect(copy!.id).toBe('a');
        expect(copy!.body).toEqual({ id: 'a' });
        expect(copy!.priority).toBe(2);
        expect(copy!.correlationId).toBe('c1');
        expect(copy!.subject).toBe('s.x');
        expect(copy!.headers).toEqual({
          type: 'order',
          'x-dead-reason': 'invalid',
          'x-dead-error': 'bad input',
          'x-original-queue': QUEUE,
          'x-attempts': '2',
          'x-dead-at': String(t),
        });
        expect(await stats(c, DLQ)).toMatchObject({ ready: 1, sent: 1 });
      });

      contract('.deadLetter() - records no error header when no error is given', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now)]);
        const { receipt } = await claimOne(c);
        expect(await c.storage.deadLetter(QUEUE, receipt, DLQ, { reason: 'rejected' }, now)).toBe('ok');
        const [copy] = await c.storage.peek(DLQ, 10, now);
        expect(copy!.headers).toEqual({ 'x-dead-reason': 'rejected', 'x-original-queue': QUEUE, 'x-attempts': '1', 'x-dead-at': String(now) });
      });

      contract('.deadLetter() - with target false drops the message but still counts it', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now)]);
        const { receipt } = await claimOne(c);
        expect(await c.storage.deadLetter(QUEUE, receipt, false, { reason: 'rejected' }, now)).toBe('ok');
        expect(await stats(c)).toMatchObject({ ready: 0, inflight: 0, deadLettered: 1 });
        expect(await stats(c, DLQ)).toMatchObject({ ready: 0, sent: 0 });
      });

      contract('.claim() - dead-letters a message already delivered maxAttempts times', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now), message('b', now)]);
        const request = { leaseMs: 100, maxAttempts: 2, max: 1 };
        expect((await claimOne(c, QUEUE, request)).message.id).toBe('a');
        await c.clock.advance(100);
        expect((await claimOne(c, QUEUE, request)).message).toMatchObject({ id: 'b', attempt: 1 });
        expect((await claimOne(c, QUEUE, request)).message).toMatchObject({ id: 'a', attempt: 2 });
        await c.clock.advance(100);
        const result = await claim(c, { ...request, max: 10 });
        expect(result.delivered.map((d) => d.message.id)).toEqual(['b']);
        expect(result.deadLettered).toHaveLength(1);
        expect(result.deadLettered[0]!.reason).toBe('max-attempts');
        expect(result.deadLettered[0]!.target).toBe(DLQ);
        expect(fields(result.deadLettered[0]!.message)).toMatchObject({ id: 'a', attempt: 2 });
        expect(await stats(c)).toMatchObject({ ready: 0, inflight: 1, deadLettered: 1 });
        const [copy] = await c.storage.peek(DLQ, 10, c.clock.now());
        expect(copy!.headers).toMatchObject({ 'x-dead-reason': 'max-attempts', 'x-original-queue': QUEUE, 'x-attempts': '2' });
      });

      contract('.claim() - a group member that a dead-letter frees is delivered in priority order within the same claim', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now, { priority: -1, group: 'g' })]);
        await claimOne(c, QUEUE, { leaseMs: 5, maxAttempts: 1 });
        await c.clock.advance(10);
        await enqueue(c, [message('b', c.clock.now(), { priority: -1 }), message('c', c.clock.now(), { group: 'g' })]);
        const result = await claim(c, { max: 2, maxAttempts: 1, deadLetter: false });
        expect(result.deadLettered.map((d) => d.message.id)).toEqual(['a']);
        expect(result.delivered.map((d) => d.message.id)).toEqual(['c', 'b']);
      });

      contract('.claim() - with deadLetter false drops a message past maxAttempts and reports it', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now)]);
        await claimOne(c, QUEUE, { leaseMs: 100, maxAttempts: 1 });
        await c.clock.advance(100);
        const result = await claim(c, { maxAttempts: 1, deadLetter: false });
        expect(result.delivered).toEqual([]);
        expect(result.deadLettered.map((d) => [d.message.id, d.reason, d.target])).toEqual([['a', 'max-attempts', false]]);
        expect(await stats(c)).toMatchObject({ ready: 0, deadLettered: 1 });
        expect(await stats(c, DLQ)).toMatchObject({ ready: 0, sent: 0 });
      });

      contract('.claim() - delivers a dead-letter queue like any other queue', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now)]);
        const { receipt } = await claimOne(c);
        await c.storage.deadLetter(QUEUE, receipt, DLQ, { reason: 'rejected' }, now);
        const copy = await claimOne(c, DLQ);
        expect(copy.message).toMatchObject({ id: 'a', attempt: 1 });
        expect(await c.storage.ack(DLQ, [copy.receipt], now)).toEqual(['ok']);
        expect(await stats(c, DLQ)).toMatchObject({ ready: 0, inflight: 0, acked: 1 });
      });

      // The target's own messages that fell due while nothing touched it became ready
      // before the copy arrived: FIFO within a priority puts them first.
      contract('.deadLetter() - the copy queues behind target messages that fell due before it', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('early', now, { delay: 10 })], DLQ, { deadLetter: false });
        await enqueue(c, [message('a', now)]);
        const { receipt } = await claimOne(c);
        await c.clock.advance(20);
        expect(await c.storage.deadLetter(QUEUE, receipt, DLQ, { reason: 'rejected' }, c.clock.now())).toBe('ok');
        expect(await peekIds(c, DLQ)).toEqual(['early', 'a']);
      });

      contract('.claim() - a copy past maxAttempts queues behind target messages that fell due before it', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('early', now, { delay: 10 })], DLQ, { deadLetter: false });
        await enqueue(c, [message('a', now)]);
        await claimOne(c, QUEUE, { leaseMs: 5, maxAttempts: 1 });
        await c.clock.advance(20);
        expect((await claim(c, { maxAttempts: 1 })).deadLettered.map((d) => d.message.id)).toEqual(['a']);
        expect(await peekIds(c, DLQ)).toEqual(['early', 'a']);
      });

      contract(".enqueue() - a message 'drop-oldest' drops queues behind target messages that fell due before it", async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('early', now, { delay: 10 })], DLQ, { deadLetter: false });
        await enqueue(c, [message('a', now)]);
        await c.clock.advance(20);
        const result = await enqueue(c, [message('b', c.clock.now())], QUEUE, { maxLength: 1, overflow: 'drop-oldest' });
        expect(result.dropped.map((d) => d.message.id)).toEqual(['a']);
        expect(await peekIds(c, DLQ)).toEqual(['early', 'a']);
      });
    });

    describe('stats', () => {
      contract('.stats() - counts waiting and in-flight messages and every lifetime counter', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now), message('b', now), message('c', now), message('d', now, { delay: 1_000 }), message('e', now, { ttl: 10 })]);
        const { delivered } = await claim(c, { max: 3 });
        const [a, b, cc] = delivered.map((d) => d.receipt);
        const t = c.clock.now();
        await c.storage.ack(QUEUE, [a!], t);
        await c.storage.release(QUEUE, b!, t + 500, t);
        await c.storage.deadLetter(QUEUE, cc!, DLQ, { reason: 'rejected' }, t);
        await enqueue(c, [message('f', now, { dedupeId: 'f' }), message('f2', now, { dedupeId: 'f' })]);
        await c.clock.advance(10);
        expect(await stats(c)).toEqual({
          ready: 1,
          delayed: 2,
          inflight: 0,
          sent: 6,
          delivered: 3,
          acked: 1,
          retried: 1,
          deadLettered: 1,
          expired: 1,
        });
      });

      contract('.stats() - of a queue that never had messages is all zeros', async (c) => {
        expect(await stats(c, 'nothing-here')).toEqual({
          ready: 0,
          delayed: 0,
          inflight: 0,
          sent: 0,
          delivered: 0,
          acked: 0,
          retried: 0,
          deadLettered: 0,
          expired: 0,
        });
      });
    });

    describe('purge', () => {
      contract('.purge() - removes waiting messages only and leaves those in flight to their consumers', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [
          message('inflight', now),
          message('ready', now),
          message('delayed', now, { delay: 500 }),
          message('g1', now, { group: 'g' }),
          message('g2', now, { group: 'g' }),
        ]);
        const { receipt } = await claimOne(c);
        expect(await c.storage.purge(QUEUE, c.clock.now())).toBe(4);
        expect(await stats(c)).toMatchObject({ ready: 0, delayed: 0, inflight: 1 });
        await c.clock.advance(500);
        expect(await claimIds(c)).toEqual([]);
        expect(await ack(c, receipt)).toBe('ok');
        expect(await c.storage.purge(QUEUE, c.clock.now())).toBe(0);
      });

      contract('.purge() - lets a group go on with messages sent after it', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('g1', now, { group: 'g' }), message('g2', now, { group: 'g' })]);
        const head = await claimOne(c);
        expect(await c.storage.purge(QUEUE, now)).toBe(1);
        await enqueue(c, [message('g3', now, { group: 'g' })]);
        expect(await claimIds(c)).toEqual([]);
        await ack(c, head.receipt);
        expect(await claimIds(c)).toEqual(['g3']);
      });
    });

    describe('forget', () => {
      contract('.forget() - keeps a queue holding a message or a dedupeId in its window; forgets it, counters too, once it holds nothing', async (c) => {
        expect(c.storage.forget).toBeTypeOf('function');
        const now = c.clock.now();
        await enqueue(c, [message('a', now, { dedupeId: 'k' })], QUEUE, { dedupeWindow: 1_000 });
        expect(await c.storage.forget!(QUEUE, now)).toBe(false);
        const { receipt } = await claimOne(c);
        expect(await c.storage.forget!(QUEUE, now)).toBe(false);
        expect(await ack(c, receipt)).toBe('ok');
        // Empty now, but the dedupeId is remembered for 1,000 ms: a resend must still be a duplicate.
        expect(await c.storage.forget!(QUEUE, now)).toBe(false);
        expect(await stats(c)).toMatchObject({ sent: 1, acked: 1 });
        await c.clock.advance(1_000);
        expect(await c.storage.forget!(QUEUE, c.clock.now())).toBe(true);
        expect(await stats(c)).toMatchObject({ ready: 0, delayed: 0, inflight: 0, sent: 0, delivered: 0, acked: 0 });
        expect(await c.storage.forget!('never-used', c.clock.now())).toBe(true);
        await enqueue(c, [message('b', c.clock.now(), { dedupeId: 'k' })]);
        expect(await claimIds(c)).toEqual(['b']);
      });
    });

    describe('peek', () => {
      contract('.peek() - lists ready messages in delivery order without leasing them', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now), message('b', now, { priority: 2 }), message('delayed', now, { delay: 100 }), message('c', now), message('g2', now, { group: 'b-group' })]);
        expect(await peekIds(c)).toEqual(['b', 'a', 'c', 'g2']);
        expect(await peekIds(c, QUEUE, 2)).toEqual(['b', 'a']);
        expect(await stats(c)).toMatchObject({ inflight: 0, delivered: 0 });
        const [first] = await c.storage.peek(QUEUE, 1, now);
        expect(fields(first!)).toEqual({ ...message('b', now, { priority: 2 }), attempt: 0 });
        expect(await claimIds(c)).toEqual(['b', 'a', 'c', 'g2']);
        expect(await peekIds(c)).toEqual([]);
      });

      contract('.peek() - shows only the head of a FIFO group', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('g1', now, { group: 'g' }), message('g2', now, { group: 'g' })]);
        expect(await peekIds(c)).toEqual(['g1']);
      });
    });

    describe('admin operations', () => {
      /** A dead letter of QUEUE as a dead-letter copy stores it, with the user headers `own`. */
      const deadLetter = (id: string, now: number, fields: Partial<NewMessage> = {}, own: Record<string, string> = {}) =>
        message(id, now, {
          ...fields,
          headers: { ...own, 'x-dead-reason': 'max-attempts', 'x-dead-error': 'boom', 'x-original-queue': QUEUE, 'x-attempts': '3', 'x-dead-at': String(now) },
        });

      async function redrive({ storage, clock }: Context, max = 100, to?: string, queue = DLQ): Promise<number> {
        expect(storage.redrive).toBeTypeOf('function');
        return storage.redrive!(queue, { max, to }, clock.now());
      }

      contract('.remove() - removes a ready, a delayed or a group-waiting message by id; false for one in flight or unknown', async (c) => {
        expect(c.storage.remove).toBeTypeOf('function');
        const now = c.clock.now();
        await enqueue(c, [
          message('inflight', now),
          message('ready', now),
          message('delayed', now, { delay: 500 }),
          message('g1', now, { group: 'g' }),
          message('g2', now, { group: 'g' }),
          message('g3', now, { group: 'g' }),
        ]);
        const { receipt } = await claimOne(c);
        expect(await c.storage.remove!(QUEUE, 'inflight', now)).toBe(false);
        expect(await c.storage.remove!(QUEUE, 'unknown', now)).toBe(false);
        expect(await c.storage.remove!('never-used', 'ready', now)).toBe(false);
        expect(await c.storage.remove!(QUEUE, 'ready', now)).toBe(true);
        expect(await c.storage.remove!(QUEUE, 'ready', now)).toBe(false);
        expect(await c.storage.remove!(QUEUE, 'delayed', now)).toBe(true);
        expect(await c.storage.remove!(QUEUE, 'g2', now)).toBe(true);
        expect(await stats(c)).toMatchObject({ ready: 2, delayed: 0, inflight: 1, sent: 6, acked: 0, deadLettered: 0, expired: 0 });
        // The head removed, the group goes on with its next member.
        expect(await c.storage.remove!(QUEUE, 'g1', now)).toBe(true);
        await c.clock.advance(500);
        expect(await claimIds(c)).toEqual(['g3']);
        expect(await ack(c, receipt)).toBe('ok');
      });

      contract('.remove() - keeps the dedupeId of the removed message remembered for its window', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now, { dedupeId: 'k' })]);
        expect(await c.storage.remove!(QUEUE, 'a', now)).toBe(true);
        expect((await enqueue(c, [message('b', now, { dedupeId: 'k' })])).results).toEqual([{ id: 'a', status: 'duplicate' }]);
        expect(await stats(c)).toMatchObject({ ready: 0 });
      });

      contract('.queues() - lists, sorted, the queues that hold messages or counters, not those forgotten or kept for pocketmq', async (c) => {
        expect(c.storage.queues).toBeTypeOf('function');
        const now = c.clock.now();
        expect(await c.storage.queues!(now)).toEqual([]);
        // No dead-letter queue: on a Redis Cluster these queues are in slots of their own.
        const alone = { deadLetter: false } as const;
        await enqueue(c, [message('a', now)], 'zeta', alone);
        await enqueue(c, [message('b', now)], 'alpha', alone);
        await enqueue(c, [message('c', now)], 'events::subscriptions', alone);
        await enqueue(c, [message('d', now)], 'gone', alone);
        const { delivered } = await claim(c, alone, 'gone');
        await c.storage.ack('gone', [delivered[0]!.receipt], now);
        await c.storage.purge('alpha', now);
        // Looking at a queue does not make it one that holds something.
        await c.storage.stats('looked-at', now);
        await c.storage.peek('looked-at', 10, now);
        expect(await c.storage.queues!(now)).toEqual(['alpha', 'gone', 'zeta']);
        expect(await c.storage.forget!('gone', now)).toBe(true);
        expect(await c.storage.queues!(now)).toEqual(['alpha', 'zeta']);
      });

      contract('.redrive() - moves ready dead letters back to their queue in order, as new: attempt 0, story headers gone, x-redrive-count', async (c) => {
        const now = c.clock.now();
        await enqueue(
          c,
          [
            deadLetter('a', now, { priority: 2, correlationId: 'c1', subject: 's.x', body: { n: 1 } }, { type: 'order' }),
            deadLetter('b', now),
            deadLetter('c', now, { priority: 2 }),
          ],
          DLQ,
          { deadLetter: false },
        );
        // Delivered once from the dead-letter queue (someone looked) and put back: attempt 1 there.
        const looked = await claimOne(c, DLQ, { deadLetter: false });
        expect(looked.message.id).toBe('a');
        expect(await c.storage.release(DLQ, looked.receipt, now, now)).toBe('ok');
        await c.clock.advance(10);
        const t = c.clock.now();
        expect(await redrive(c)).toBe(3);
        expect(await stats(c, DLQ)).toMatchObject({ ready: 0, delayed: 0, inflight: 0, sent: 3 });
        expect(await stats(c)).toMatchObject({ ready: 3, sent: 3 });
        const moved = (await c.storage.peek(QUEUE, 10, t)).map(fields);
        expect(moved.map((m) => m.id)).toEqual(['c', 'a', 'b']);
        expect(moved[1]).toEqual({
          ...message('a', t, { priority: 2, correlationId: 'c1', subject: 's.x', body: { n: 1 } }),
          headers: { type: 'order', 'x-redrive-count': '1' },
          attempt: 0,
        });
        const { delivered } = await claim(c);
        expect(delivered.map((d) => [d.message.id, d.message.attempt])).toEqual([['c', 1], ['a', 1], ['b', 1]]);
        // Dead-lettered again and redriven again: the count goes on.
        for (const d of delivered) expect(await c.storage.deadLetter(QUEUE, d.receipt, DLQ, { reason: 'rejected' }, t)).toBe('ok');
        expect(await redrive(c, 1)).toBe(1);
        const [again] = await c.storage.peek(QUEUE, 1, t);
        expect(again!.headers).toEqual({ 'x-redrive-count': '2' });
        expect(again!.id).toBe('c');
        expect(await peekIds(c, DLQ)).toEqual(['a', 'b']);
      });

      contract('.redrive() - moves up to max; to overrides the origin; messages without an origin stay, and so do delayed and in-flight ones', async (c) => {
        const now = c.clock.now();
        await enqueue(
          c,
          [
            message('plain', now, { headers: { type: 'x' } }),
            deadLetter('a', now),
            message('self', now, { headers: { 'x-original-queue': DLQ } }),
            message('bad-name', now, { headers: { 'x-original-queue': '../etc' } }),
            deadLetter('b', now),
            deadLetter('c', now),
            deadLetter('later', now, { availableAt: now + 1_000 }),
            deadLetter('leased', now),
          ],
          DLQ,
          { deadLetter: false },
        );
        // Only 'leased' stays in flight: the others are claimed and put back at once.
        const all = await claim(c, { max: 10, leaseMs: 10_000, deadLetter: false }, DLQ);
        for (const d of all.delivered) {
          if (d.message.id !== 'leased') expect(await c.storage.release(DLQ, d.receipt, now, now)).toBe('ok');
        }
        expect(await redrive(c, 2)).toBe(2);
        expect(await peekIds(c)).toEqual(['a', 'b']);
        expect(await redrive(c, 100, 'jobs.other')).toBe(4);
        expect(await peekIds(c, 'jobs.other')).toEqual(['plain', 'self', 'bad-name', 'c']);
        const [plain] = await c.storage.peek('jobs.other', 1, now);
        expect(plain!.headers).toEqual({ type: 'x', 'x-redrive-count': '1' });
        expect(await stats(c, DLQ)).toMatchObject({ ready: 0, delayed: 1, inflight: 1 });
        expect(await redrive(c)).toBe(0);
        await c.clock.advance(1_000);
        expect(await redrive(c)).toBe(1);
        expect(await peekIds(c)).toEqual(['a', 'b', 'later']);
      });

      contract('.redrive() - keeps FIFO groups in order and priorities, and a staying head holds its group', async (c) => {
        const now = c.clock.now();
        await enqueue(
          c,
          [
            deadLetter('g1', now, { group: 'g' }),
            deadLetter('x', now, { priority: 1 }),
            deadLetter('g2', now, { group: 'g', priority: 5 }),
            deadLetter('g3', now, { group: 'g' }),
            message('h1', now, { group: 'h' }),
            deadLetter('h2', now, { group: 'h' }),
          ],
          DLQ,
          { deadLetter: false },
        );
        expect(await redrive(c)).toBe(4);
        expect(await peekIds(c, DLQ)).toEqual(['h1']);
        expect(await stats(c, DLQ)).toMatchObject({ ready: 2 });
        const order: string[] = [];
        for (;;) {
          const { delivered } = await claim(c);
          if (delivered.length === 0) break;
          for (const d of delivered) {
            order.push(`${d.message.id}:${d.message.priority}:${d.message.group ?? ''}`);
            expect(await ack(c, d.receipt)).toBe('ok');
          }
        }
        expect(order).toEqual(['x:1:', 'g1:0:g', 'g2:5:g', 'g3:0:g']);
      });

      contract('.redrive() - stores a message whatever the target remembers of its dedupeId, and the target still dedupes new sends', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now, { dedupeId: 'k' })]);
        const { receipt } = await claimOne(c);
        expect(await c.storage.deadLetter(QUEUE, receipt, DLQ, { reason: 'rejected' }, now)).toBe('ok');
        expect(await redrive(c)).toBe(1);
        const [moved] = await c.storage.peek(QUEUE, 1, now);
        expect(moved!.id).toBe('a');
        expect(moved!.dedupeId).toBeUndefined();
        expect((await enqueue(c, [message('b', now, { dedupeId: 'k' })])).results).toEqual([{ id: 'a', status: 'duplicate' }]);
        expect(await peekIds(c)).toEqual(['a']);
      });

      contract('.redrive() - moves more than one slice of messages, all of them, in order', async (c) => {
        const now = c.clock.now();
        const ids = Array.from({ length: 1_500 }, (_, i) => `m${i}`);
        await enqueue(c, ids.map((id) => deadLetter(id, now)), DLQ, { deadLetter: false });
        const dlq = new Queue(DLQ, { storage: c.storage });
        expect(await dlq.redrive()).toBe(1_500);
        expect(await peekIds(c, QUEUE, 2_000)).toEqual(ids);
        expect(await stats(c, DLQ)).toMatchObject({ ready: 0 });
        await dlq.close();
      });

      contract('.browse() - lists delayed messages by due time and in-flight ones by lease end, ready ones then those behind their group head', async (c) => {
        expect(c.storage.browse).toBeTypeOf('function');
        const now = c.clock.now();
        await enqueue(c, [
          message('late', now, { delay: 300 }),
          message('early', now, { delay: 100 }),
          message('g1', now, { group: 'g' }),
          message('g2', now, { group: 'g', headers: { k: 'v' } }),
          message('r', now, { priority: 1 }),
          message('lease-long', now),
          message('lease-short', now),
        ]);
        const { delivered } = await claim(c, { max: 1 });
        expect(delivered[0]!.message.id).toBe('r');
        expect(await c.storage.release(QUEUE, delivered[0]!.receipt, now, now)).toBe('ok');
        const first = await claim(c, { max: 2, leaseMs: 5_000 });
        expect(first.delivered.map((d) => d.message.id)).toEqual(['r', 'g1']);
        const second = await claim(c, { max: 2, leaseMs: 1_000 });
        expect(second.delivered.map((d) => d.message.id)).toEqual(['lease-long', 'lease-short']);
        const browse = (state: 'ready' | 'delayed' | 'inflight', max = 10) => c.storage.browse!(QUEUE, state, max, c.clock.now());
        const ready = await browse('ready');
        expect(ready.map((b) => [b.message.id, b.leaseUntil])).toEqual([['g2', undefined]]);
        expect(fields(ready[0]!.message)).toEqual({ ...message('g2', now, { group: 'g', headers: { k: 'v' } }), attempt: 0 });
        expect((await browse('delayed')).map((b) => b.message.id)).toEqual(['early', 'late']);
        expect((await browse('delayed', 1)).map((b) => b.message.id)).toEqual(['early']);
        const inflight = await browse('inflight');
        expect(inflight.map((b) => [b.message.id, b.message.attempt, b.leaseUntil])).toEqual([
          ['lease-long', 1, now + 1_000],
          ['lease-short', 1, now + 1_000],
          // Equal lease ends: in the order the messages were stored.
          ['g1', 1, now + 5_000],
          ['r', 2, now + 5_000],
        ]);
        expect(await stats(c)).toMatchObject({ ready: 1, delayed: 2, inflight: 4, delivered: 5 });
        expect(await c.storage.browse!('never-used', 'inflight', 10, now)).toEqual([]);
      });

      contract('queue.redrive() and queue.remove() - refuse bad arguments naming them, changing nothing', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [deadLetter('a', now)], DLQ, { deadLetter: false });
        const dlq = new Queue(DLQ, { storage: c.storage });
        await expect(dlq.redrive({ max: 0 })).rejects.toThrow(/`options\.max`/);
        await expect(dlq.redrive({ max: 1.5 })).rejects.toThrow(/`options\.max`/);
        await expect(dlq.redrive({ max: '3' as unknown as number })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
        await expect(dlq.redrive({ to: 'a..b' })).rejects.toThrow(/`options\.to`/);
        await expect(dlq.redrive({ to: DLQ })).rejects.toThrow(/`options\.to`/);
        await expect(dlq.redrive({ mx: 1 } as never)).rejects.toThrow(/`options\.mx`/);
        await expect(dlq.remove(42 as unknown as string)).rejects.toThrow(/`id`/);
        await expect(dlq.remove('')).rejects.toThrow(/`id`/);
        await expect(dlq.peek({ state: 'dead' as never })).rejects.toThrow(/`options\.state`/);
        await expect(dlq.peek({ max: 0 })).rejects.toThrow(/`options\.max`/);
        expect(await peekIds(c, DLQ)).toEqual(['a']);
        expect(await stats(c)).toMatchObject({ sent: 0 });
        await dlq.close();
      });

      contract('queue.redrive() - a message that failed its attempts runs again after a redrive, from attempt 1', async (c) => {
        const queue = new Queue<string>(QUEUE, { storage: c.storage, maxAttempts: 2, backoff: { type: 'exponential', initial: 10, factor: 1, jitter: 'none' } });
        const dlq = new Queue<string>(DLQ, { storage: c.storage });
        await queue.send('job', { headers: { type: 't' }, priority: 3 });
        let fixed = false;
        const attempts: number[] = [];
        const consumer = queue.consume(async (msg) => {
          attempts.push(msg.attempt);
          if (!fixed) throw new Error('broken');
        });
        await c.clock.runAll();
        await queue.idle();
        const [dead] = await dlq.peek();
        expect(dead).toMatchObject({ body: 'job', state: 'ready', headers: { type: 't', 'x-dead-reason': 'max-attempts', 'x-attempts': '2' } });
        fixed = true;
        expect(await dlq.redrive()).toBe(1);
        await c.clock.runAll();
        await queue.idle();
        expect(attempts).toEqual([1, 2, 1]);
        expect(await dlq.stats()).toMatchObject({ ready: 0 });
        expect(await queue.stats()).toMatchObject({ acked: 1, deadLettered: 1 });
        await consumer.stop();
        await queue.close();
        await dlq.close();
      });

      contract('queue.peek({ state }) - lists delayed and in-flight messages with their headers, attempts and times', async (c) => {
        const queue = new Queue<string>(QUEUE, { storage: c.storage });
        const now = c.clock.now();
        await queue.send('later', { delay: 1_000, headers: { h: '1' } });
        await queue.send('now');
        const [msg] = await queue.receive();
        expect(msg!.body).toBe('now');
        expect(await queue.peek({ state: 'delayed' })).toMatchObject([{ body: 'later', state: 'delayed', availableAt: now + 1_000, headers: { h: '1' }, attempt: 0, leaseUntil: undefined }]);
        expect(await queue.peek({ state: 'inflight', max: 5 })).toMatchObject([{ body: 'now', state: 'inflight', attempt: 1, leaseUntil: now + 30_000 }]);
        expect(await queue.peek()).toEqual([]);
        expect(await queue.remove(msg!.id)).toBe(false);
        await msg!.ack();
        await queue.close();
      });
    });

    describe('dedupe', () => {
      contract('.enqueue() - stores a dedupeId seen within the window once and answers with the first id', async (c) => {
        const now = c.clock.now();
        expect((await enqueue(c, [message('first', now, { dedupeId: 'order-1' })])).results).toEqual([{ id: 'first', status: 'stored' }]);
        await c.clock.advance(59_999);
        const again = await enqueue(c, [message('second', c.clock.now(), { dedupeId: 'order-1' })]);
        expect(again).toEqual({ results: [{ id: 'first', status: 'duplicate' }], full: false, dropped: [] });
        expect(await stats(c)).toMatchObject({ ready: 1, sent: 1 });
      });

      contract('.enqueue() - still deduplicates after the first message was acked', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('first', now, { dedupeId: 'order-1' })]);
        await ack(c, (await claimOne(c)).receipt);
        const again = await enqueue(c, [message('second', now, { dedupeId: 'order-1' })]);
        expect(again.results).toEqual([{ id: 'first', status: 'duplicate' }]);
      });

      contract('.enqueue() - stores a dedupeId again once the window has passed', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('first', now, { dedupeId: 'order-1' })]);
        await c.clock.advance(60_000);
        const again = await enqueue(c, [message('second', c.clock.now(), { dedupeId: 'order-1' })]);
        expect(again.results).toEqual([{ id: 'second', status: 'stored' }]);
        expect(await claimIds(c)).toEqual(['first', 'second']);
      });

      contract('.enqueue() - deduplicates within one batch', async (c) => {
        const now = c.clock.now();
        const result = await enqueue(c, [message('a', now, { dedupeId: 'd' }), message('b', now, { dedupeId: 'd' }), message('c', now, { dedupeId: 'e' })]);
        expect(result.results).toEqual([
          { id: 'a', status: 'stored' },
          { id: 'a', status: 'duplicate' },
          { id: 'c', status: 'stored' },
        ]);
        expect(await claimIds(c)).toEqual(['a', 'c']);
      });

      contract('.enqueue() - keeps dedupe per queue', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now, { dedupeId: 'd' })]);
        const other = await enqueue(c, [message('b', now, { dedupeId: 'd' })], 'other');
        expect(other.results).toEqual([{ id: 'b', status: 'stored' }]);
      });
    });

    describe('maxLength', () => {
      contract(".enqueue() - with overflow 'reject' stores nothing of a batch that does not fit", async (c) => {
        const now = c.clock.now();
        const bound = { maxLength: 3, overflow: 'reject' as const };
        expect((await enqueue(c, [message('a', now), message('b', now)], QUEUE, bound)).full).toBe(false);
        const result = await enqueue(c, [message('c', now), message('d', now)], QUEUE, bound);
        expect(result.full).toBe(true);
        expect(result.dropped).toEqual([]);
        expect(await stats(c)).toMatchObject({ ready: 2, sent: 2 });
        expect(await peekIds(c)).toEqual(['a', 'b']);
        expect((await enqueue(c, [message('c', now)], QUEUE, bound)).full).toBe(false);
        expect((await enqueue(c, [message('d', now)], QUEUE, bound)).full).toBe(true);
      });

      contract(".enqueue() - with overflow 'reject' counts delayed and grouped messages but not those in flight", async (c) => {
        const now = c.clock.now();
        const bound = { maxLength: 3, overflow: 'reject' as const };
        await enqueue(c, [message('a', now), message('d', now, { delay: 500 }), message('g1', now, { group: 'g' })], QUEUE, bound);
        expect((await enqueue(c, [message('x', now)], QUEUE, bound)).full).toBe(true);
        await claim(c, { max: 2 });
        expect((await enqueue(c, [message('g2', now, { group: 'g' }), message('y', now)], QUEUE, bound)).full).toBe(false);
        expect((await enqueue(c, [message('z', now)], QUEUE, bound)).full).toBe(true);
        expect(await stats(c)).toMatchObject({ ready: 2, delayed: 1, inflight: 2 });
      });

      contract(".enqueue() - with overflow 'drop-oldest' dead-letters the oldest ready message of the lowest priority", async (c) => {
        const now = c.clock.now();
        const bound = { maxLength: 3, overflow: 'drop-oldest' as const };
        await enqueue(c, [message('high', now, { priority: 5 }), message('low1', now), message('low2', now)], QUEUE, bound);
        const result = await enqueue(c, [message('new', now, { priority: 5 })], QUEUE, bound);
        expect(result.full).toBe(false);
        expect(result.results).toEqual([{ id: 'new', status: 'stored' }]);
        expect(result.dropped.map((d) => [d.message.id, d.reason, d.target])).toEqual([['low1', 'overflow', DLQ]]);
        expect(await peekIds(c)).toEqual(['high', 'new', 'low2']);
        expect(await stats(c)).toMatchObject({ ready: 3, deadLettered: 1 });
        const [copy] = await c.storage.peek(DLQ, 10, now);
        expect(copy!.id).toBe('low1');
        expect(copy!.headers).toMatchObject({ 'x-dead-reason': 'overflow', 'x-original-queue': QUEUE });
      });

      contract(".enqueue() - with overflow 'drop-oldest' drops the oldest waiting message when none is ready", async (c) => {
        const now = c.clock.now();
        const bound = { maxLength: 2, overflow: 'drop-oldest' as const, deadLetter: false as const };
        await enqueue(c, [message('d1', now, { delay: 100 }), message('d2', now, { delay: 50 })], QUEUE, bound);
        const result = await enqueue(c, [message('d3', now, { delay: 10 })], QUEUE, bound);
        expect(result.dropped.map((d) => [d.message.id, d.reason, d.target])).toEqual([['d1', 'overflow', false]]);
        expect(await stats(c)).toMatchObject({ delayed: 2, deadLettered: 1 });
        expect(await stats(c, DLQ)).toMatchObject({ ready: 0, sent: 0 });
      });

      contract(".enqueue() - with overflow 'drop-oldest' makes room for a whole batch", async (c) => {
        const now = c.clock.now();
        const bound = { maxLength: 2, overflow: 'drop-oldest' as const };
        await enqueue(c, [message('a', now), message('b', now)], QUEUE, bound);
        const result = await enqueue(c, [message('c', now), message('d', now), message('e', now)], QUEUE, bound);
        expect(result.dropped.map((d) => d.message.id)).toEqual(['a', 'b', 'c']);
        expect(await peekIds(c)).toEqual(['d', 'e']);
        expect(await stats(c, DLQ)).toMatchObject({ ready: 3 });
      });
    });

    // Queues of a topic's subscriptions, as Topic names them: one family, so one slot on Redis Cluster.
    describe('enqueueMany', () => {
      contract('.enqueueMany() - gives every queue its own copy', async (c) => {
        const now = c.clock.now();
        await c.storage.enqueueMany(['jobs:billing', 'jobs:audit'], [message('a', now), message('b', now, { delay: 100 })], 60_000, now);
        const billing = await claimOne(c, 'jobs:billing');
        expect(billing.message).toEqual({ ...message('a', now), attempt: 1 });
        expect(await c.storage.ack('jobs:billing', [billing.receipt], now)).toEqual(['ok']);
        expect(await peekIds(c, 'jobs:audit')).toEqual(['a']);
        await c.clock.advance(100);
        expect(await claimIds(c, {}, 'jobs:audit')).toEqual(['a', 'b']);
        expect(await claimIds(c, {}, 'jobs:billing')).toEqual(['b']);
      });

      contract('.enqueueMany() - deduplicates per queue', async (c) => {
        const now = c.clock.now();
        await c.storage.enqueueMany(['jobs:billing'], [message('a', now, { dedupeId: 'd' })], 60_000, now);
        await c.storage.enqueueMany(['jobs:billing', 'jobs:audit'], [message('b', now, { dedupeId: 'd' })], 60_000, now);
        expect(await peekIds(c, 'jobs:billing')).toEqual(['a']);
        expect(await peekIds(c, 'jobs:audit')).toEqual(['b']);
        expect(await stats(c, 'jobs:billing')).toMatchObject({ sent: 1 });
      });
    });

    describe('tick and watch', () => {
      contract(".watch() - signals 'ready' for the queue a message was enqueued on", async (c) => {
        const ready = nextSignal(c.storage, (s) => s.type === 'ready');
        await enqueue(c, [message('a', c.clock.now())]);
        expect(await ready).toEqual({ type: 'ready', queue: QUEUE });
      });

      contract(".watch() - signals 'due' with the earliest time something falls due", async (c) => {
        const now = c.clock.now();
        let due = nextSignal(c.storage, (s) => s.type === 'due');
        await enqueue(c, [message('a', now, { delay: 500 })]);
        expect(await due).toEqual({ type: 'due', at: now + 500 });
        due = nextSignal(c.storage, (s) => s.type === 'due');
        await enqueue(c, [message('b', now, { delay: 200 })]);
        expect(await due).toEqual({ type: 'due', at: now + 200 });
      });

      contract('capabilities.settlesAtCall - when declared, a claim has settled by the next microtask', async (c) => {
        await enqueue(c, [message('a', c.clock.now())]);
        let settled = false;
        const claimed = c.storage.claim(QUEUE, claimRequest(), c.clock.now()).then(() => (settled = true));
        await Promise.resolve();
        await Promise.resolve();
        // A consumer takes the claim's clock reading as its handlers' start time only on this promise.
        if (c.storage.capabilities.settlesAtCall === true) expect(settled).toBe(true);
        await claimed;
        expect(settled).toBe(true);
      });

      contract(".watch() - signals 'drained' when a queue's last message is acked, if it declares capabilities.drainedSignals", async (c) => {
        const signals: StorageSignal[] = [];
        c.storage.watch((signal) => {
          if (signal.type === 'drained') signals.push(signal);
        });
        await enqueue(c, [message('a', c.clock.now()), message('b', c.clock.now())]);
        const first = await claimOne(c);
        await ack(c, first.receipt);
        const second = await claimOne(c);
        if (!c.storage.capabilities.drainedSignals) {
          // A storage that does not say so is asked by idle() at every wake instead.
          expect(await ack(c, second.receipt)).toBe('ok');
          expect(signals).toEqual([]);
          return;
        }
        const drained = nextSignal(c.storage, (s) => s.type === 'drained');
        await ack(c, second.receipt);
        expect(await drained).toEqual({ type: 'drained', queue: QUEUE });
        expect(signals).toHaveLength(1);
      });

      contract(".tick() - applies due work and signals 'ready' for a queue whose delay passed", async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now, { delay: 100 })]);
        await c.clock.advance(100);
        const ready = nextSignal(c.storage, (s) => s.type === 'ready');
        await c.storage.tick(c.clock.now());
        expect(await ready).toEqual({ type: 'ready', queue: QUEUE });
        expect(await peekIds(c)).toEqual(['a']);
      });

      contract(".tick() - signals 'ready' when a lease ran out", async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now)]);
        await claimOne(c, QUEUE, { leaseMs: 100 });
        await c.clock.advance(100);
        const ready = nextSignal(c.storage, (s) => s.type === 'ready');
        await c.storage.tick(c.clock.now());
        expect(await ready).toEqual({ type: 'ready', queue: QUEUE });
      });

      contract('.watch() - stops signalling a listener once it is removed', async (c) => {
        const removed: StorageSignal[] = [];
        const unwatch = c.storage.watch((s) => removed.push(s));
        unwatch();
        const ready = nextSignal(c.storage, (s) => s.type === 'ready');
        await enqueue(c, [message('a', c.clock.now())]);
        await ready;
        expect(removed).toEqual([]);
      });
    });

    describe('schedules', () => {
      const schedule = (next: number, overrides: Partial<StoredSchedule> = {}): StoredSchedule => ({
        id: 'poll',
        every: 1_000,
        cron: undefined,
        tz: undefined,
        next,
        last: undefined,
        count: 0,
        body: { kind: 'poll', n: [1, 'ü'] },
        options: { priority: 2, headers: { a: 'b' } },
        policy: policy(),
        ...overrides,
      });

      /** The storage's schedule operations: every adapter of this repository has them. */
      const ops = (storage: Storage) => storage as Storage & Required<Pick<Storage, 'putSchedule' | 'deleteSchedule' | 'listSchedules' | 'fireSchedule'>>;

      contract('.putSchedule() - stores a schedule; listSchedules() gives it back by queue, or of every queue; deleteSchedule() removes it', async (c) => {
        const s = ops(c.storage);
        const now = c.clock.now();
        await s.putSchedule(QUEUE, schedule(now + 1_000), now);
        await s.putSchedule('other', schedule(now + 5_000, { id: 'nightly', every: undefined, cron: '0 3 * * *', tz: 'Europe/Paris', last: now - 1, count: 4 }), now);
        expect(await s.listSchedules(QUEUE, now)).toEqual([{ queue: QUEUE, schedule: schedule(now + 1_000) }]);
        expect((await s.listSchedules(undefined, now)).map((e) => [e.queue, e.schedule.id, e.schedule.next, e.schedule.cron, e.schedule.tz, e.schedule.count])).toEqual([
          [QUEUE, 'poll', now + 1_000, undefined, undefined, 0],
          ['other', 'nightly', now + 5_000, '0 3 * * *', 'Europe/Paris', 4],
        ]);
        await s.putSchedule(QUEUE, schedule(now + 2_000, { body: 'replaced' }), now);
        expect((await s.listSchedules(QUEUE, now)).map((e) => [e.schedule.next, e.schedule.body])).toEqual([[now + 2_000, 'replaced']]);
        expect(await s.deleteSchedule(QUEUE, 'poll', now)).toBe(true);
        expect(await s.deleteSchedule(QUEUE, 'poll', now)).toBe(false);
        expect(await s.listSchedules(QUEUE, now)).toEqual([]);
      });

      contract('.fireSchedule() - enqueues and advances only when the stored next is the expected one (compare-and-set)', async (c) => {
        const s = ops(c.storage);
        const now = c.clock.now();
        await s.putSchedule(QUEUE, schedule(now), now);
        const tick = message('t1', now, { dedupeId: `poll@${now}` });
        const fired = await s.fireSchedule(QUEUE, 'poll', now, { next: now + 1_000, last: now, count: 1 }, [tick], now);
        expect(fired).toEqual({ results: [{ id: 't1', status: 'stored' }], full: false, dropped: [] });
        // A second process that read the same `next` loses the race: nothing is sent twice.
        expect(await s.fireSchedule(QUEUE, 'poll', now, { next: now + 1_000, last: now, count: 1 }, [message('t1-again', now)], now)).toBe('stale');
        expect(await s.fireSchedule(QUEUE, 'gone', now, { next: now + 1_000, last: now, count: 1 }, [message('t-gone', now)], now)).toBe('stale');
        expect(await peekIds(c)).toEqual(['t1']);
        expect((await s.listSchedules(QUEUE, now))[0]!.schedule).toMatchObject({ next: now + 1_000, last: now, count: 1, body: { kind: 'poll', n: [1, 'ü'] } });
        // No next tick: the schedule goes with its last send.
        expect(await s.fireSchedule(QUEUE, 'poll', now + 1_000, { next: undefined, last: now + 1_000, count: 2 }, [message('t2', now)], now)).toMatchObject({ full: false });
        expect(await s.listSchedules(QUEUE, now)).toEqual([]);
        expect(await peekIds(c)).toEqual(['t1', 't2']);
      });

      contract('.fireSchedule() - enqueues under the stored policy: a full queue stores nothing but the schedule advances', async (c) => {
        const s = ops(c.storage);
        const now = c.clock.now();
        await enqueue(c, [message('a', now)]);
        await s.putSchedule(QUEUE, schedule(now, { policy: policy({ maxLength: 1 }) }), now);
        expect(await s.fireSchedule(QUEUE, 'poll', now, { next: now + 1_000, last: now, count: 1 }, [message('t1', now)], now)).toMatchObject({ full: true });
        expect(await peekIds(c)).toEqual(['a']);
        expect((await s.listSchedules(QUEUE, now))[0]!.schedule.next).toBe(now + 1_000);
      });

      contract(".watch() - signals 'schedules' with the earliest tick when schedules change", async (c) => {
        const s = ops(c.storage);
        const now = c.clock.now();
        let signal = nextSignal(c.storage, (x) => x.type === 'schedules' && x.at === now + 5_000);
        await s.putSchedule(QUEUE, schedule(now + 5_000), now);
        await signal;
        signal = nextSignal(c.storage, (x) => x.type === 'schedules' && x.at === now + 2_000);
        await s.putSchedule('other', schedule(now + 2_000, { id: 'sooner' }), now);
        await signal;
        signal = nextSignal(c.storage, (x) => x.type === 'schedules' && x.at === undefined);
        await s.deleteSchedule(QUEUE, 'poll', now);
        await s.deleteSchedule('other', 'sooner', now);
        await signal;
      });

      contract('through a Queue: ticks on the clock, each once, with the x-schedule header and the tick dedupeId', async (c) => {
        const queue = new Queue<string>(QUEUE, { storage: c.storage });
        const start = c.clock.now();
        await queue.schedule('poll', { every: 1_000 }, 'tick');
        await c.clock.advance(3_500);
        const messages = await c.storage.peek(QUEUE, 10, c.clock.now());
        expect(messages.map((m) => [m.body, m.headers?.['x-schedule'], m.dedupeId])).toEqual([1, 2, 3].map((k) => ['tick', 'poll', `poll@${start + k * 1_000}`]));
        expect(await queue.schedules()).toMatchObject([{ id: 'poll', every: 1_000, next: start + 4_000, last: start + 3_000, count: 3 }]);
        expect(await queue.unschedule('poll')).toBe(true);
        await c.clock.advance(3_000);
        expect(await c.storage.peek(QUEUE, 10, c.clock.now())).toHaveLength(3);
        await queue.close();
      });
    });

    describe('close', () => {
      contract(".close() - tells the watchers with a 'closed' signal, once", async (c) => {
        const signals: string[] = [];
        c.storage.watch((signal) => signals.push(signal.type));
        await c.storage.open();
        await c.storage.close();
        await c.storage.close();
        expect(signals.filter((type) => type === 'closed')).toEqual(['closed']);
      });

      contract('.close() - makes every later call reject with ClosedError, and is idempotent', async (c) => {
        const now = c.clock.now();
        await enqueue(c, [message('a', now)]);
        await c.storage.close();
        await c.storage.close();
        const receipt = { id: 'a', token: 1 };
        const calls: (() => Promise<unknown>)[] = [
          () => c.storage.open(),
          () => c.storage.enqueue(QUEUE, [message('b', now)], policy(), now),
          () => c.storage.enqueueMany([QUEUE], [message('b', now)], 0, now),
          () => c.storage.claim(QUEUE, claimRequest(), now),
          () => c.storage.ack(QUEUE, [receipt], now),
          () => c.storage.release(QUEUE, receipt, now, now),
          () => c.storage.deadLetter(QUEUE, receipt, DLQ, { reason: 'x' }, now),
          () => c.storage.extend(QUEUE, receipt, now, now),
          () => c.storage.stats(QUEUE, now),
          () => c.storage.purge(QUEUE, now),
          () => c.storage.peek(QUEUE, 1, now),
          () => c.storage.tick(now),
        ];
        for (const call of calls) {
          let pending: Promise<unknown> | undefined;
          expect(() => {
            pending = call();
          }).not.toThrow();
          await expect(pending).rejects.toBeInstanceOf(ClosedError);
        }
      });
    });

    describe('through a Queue', () => {
      contract('send, consume and ack: every message is handled once and the queue ends empty', async (c) => {
        const queue = new Queue<{ n: number }>(QUEUE, { storage: c.storage });
        const handled: number[] = [];
        const consumer = queue.consume(async (msg) => {
          handled.push(msg.body.n);
        });
        await queue.sendBatch([{ body: { n: 1 } }, { body: { n: 2 } }, { body: { n: 3 }, options: { delay: 100 } }]);
        await c.clock.advance(0);
        expect(handled).toEqual([1, 2]);
        await c.clock.advance(100);
        expect(handled).toEqual([1, 2, 3]);
        await consumer.stop();
        expect(await queue.stats()).toMatchObject({ ready: 0, delayed: 0, inflight: 0, sent: 3, delivered: 3, acked: 3 });
        await queue.close();
      });

      contract('a failing handler is retried with backoff, then dead-lettered with its story', async (c) => {
        const queue = new Queue<string>(QUEUE, {
          storage: c.storage,
          maxAttempts: 3,
          backoff: { type: 'exponential', initial: 100, factor: 2, jitter: 'none' },
        });
        const attempts: [number, number][] = [];
        const dead: [string, string][] = [];
        queue.on('dead', (msg, reason) => dead.push([msg.body, reason]));
        const consumer = queue.consume((msg) => {
          attempts.push([msg.attempt, c.clock.now() - START]);
          throw new Error('boom');
        });
        await queue.send('job');
        await c.clock.advance(0);
        await c.clock.advance(100);
        await c.clock.advance(200);
        expect(attempts).toEqual([
          [1, 0],
          [2, 100],
          [3, 300],
        ]);
        expect(dead).toEqual([['job', 'max-attempts']]);
        expect(await queue.stats()).toMatchObject({ ready: 0, delayed: 0, inflight: 0, retried: 2, deadLettered: 1 });
        const [copy] = await c.storage.peek(DLQ, 10, c.clock.now());
        expect(copy!.body).toBe('job');
        expect(copy!.headers).toMatchObject({
          'x-dead-reason': 'max-attempts',
          'x-dead-error': 'boom',
          'x-original-queue': QUEUE,
          'x-attempts': '3',
          'x-dead-at': String(START + 300),
        });
        await consumer.stop();
        await queue.close();
      });

      contract('.idle() - resolves once nothing is ready, delayed or in flight', async (c) => {
        const queue = new Queue<string>(QUEUE, { storage: c.storage });
        await queue.send('now');
        await queue.send('later', { delay: 500 });
        let idle = false;
        const done = queue.idle().then(() => {
          idle = true;
        });
        const consumer = queue.consume(() => undefined);
        await c.clock.advance(499);
        expect(idle).toBe(false);
        await c.clock.advance(1);
        await done;
        expect(idle).toBe(true);
        expect(await queue.stats()).toMatchObject({ acked: 2 });
        await consumer.stop();
        await queue.close();
      });

      contract('two handles on one storage see the same messages', async (c) => {
        const producer = new Queue<string>(QUEUE, { storage: c.storage });
        const worker = new Queue<string>(QUEUE, { storage: c.storage });
        await producer.send('hello');
        const [msg] = await worker.receive({ wait: 0 });
        expect(msg?.body).toBe('hello');
        expect(await msg!.ack()).toBe(true);
        expect(await producer.stats()).toMatchObject({ ready: 0, inflight: 0, acked: 1 });
        await producer.close();
        await worker.close();
      });
    });

    describe('leases of running handlers', () => {
      contract('consume() - a handler slower than visibilityTimeout is acked once: never redelivered or dead-lettered (two consumers)', async (c) => {
        const a = new Queue<string>(QUEUE, { storage: c.storage, visibilityTimeout: 200 });
        const b = new Queue<string>(QUEUE, { storage: c.storage, visibilityTimeout: 200 });
        const runs: string[] = [];
        const acked: string[] = [];
        const dead: string[] = [];
        for (const queue of [a, b]) {
          queue.on('acked', (msg) => acked.push(msg.body));
          queue.on('dead', (msg) => dead.push(msg.body));
        }
        const handler = (name: string) => async (msg: Message<string>) => {
          const slept = c.clock.sleep(500);
          runs.push(`${name}:${msg.body}:${msg.attempt}`);
          await slept;
        };
        const consumers = [a.consume(handler('a')), b.consume(handler('b'))];
        await a.send('slow');
        await c.clock.advance(2_000);
        expect(runs).toEqual(['a:slow:1']);
        expect(acked).toEqual(['slow']);
        expect(dead).toEqual([]);
        expect(await a.stats()).toMatchObject({ ready: 0, delayed: 0, inflight: 0, delivered: 1, acked: 1, retried: 0, deadLettered: 0 });
        expect(await c.storage.peek(DLQ, 10, c.clock.now())).toEqual([]);
        await Promise.all(consumers.map((consumer) => consumer.stop()));
        await a.close();
        await b.close();
      });

      contract('consume() - renews every visibilityTimeout / 3 while the handler runs, and never after it settles', async (c) => {
        const counted = countingStorage(c.storage);
        const extendedAt: number[] = [];
        const extend = c.storage.extend.bind(c.storage);
        counted.replace('extend', (queue, receipt, leaseUntil, now) => {
          extendedAt.push(now - START);
          return extend(queue, receipt, leaseUntil, now);
        });
        const queue = new Queue<number>(QUEUE, { storage: counted.storage, visibilityTimeout: 300 });
        const consumer = queue.consume(async (msg) => {
          await c.clock.sleep(msg.body);
        });
        await queue.send(500);
        await c.clock.advance(500);
        expect(extendedAt).toEqual([100, 200, 300, 400]);
        expect(await queue.stats()).toMatchObject({ inflight: 0, acked: 1 });
        await c.clock.advance(5_000);
        expect(extendedAt).toEqual([100, 200, 300, 400]);
        // A handler done within a third of the timeout is never extended.
        await queue.send(90);
        await c.clock.advance(1_000);
        expect(extendedAt).toEqual([100, 200, 300, 400]);
        expect(await queue.stats()).toMatchObject({ inflight: 0, delivered: 2, acked: 2 });
        await consumer.stop();
        await queue.close();
      });

      contract('consume() - a lost lease aborts the handler\'s signal with LeaseLostError, and its late ack takes no effect', async (c) => {
        const queue = new Queue<string>(QUEUE, { storage: c.storage, visibilityTimeout: 300 });
        let held: Message<string> | undefined;
        let signal: AbortSignal | undefined;
        let abortedAt: number | undefined;
        const consumer = queue.consume(async (msg, context) => {
          const slept = c.clock.sleep(1_000);
          held = msg;
          signal = context.signal;
          signal.addEventListener('abort', () => (abortedAt = c.clock.now() - START));
          await slept;
        });
        await queue.send('job');
        await c.clock.advance(50);
        expect(held?.body).toBe('job');
        // Another consumer takes the message over: the lease the handler holds is stale.
        expect(await c.storage.release(QUEUE, held!.receipt, c.clock.now(), c.clock.now())).toBe('ok');
        const { delivered } = await c.storage.claim(QUEUE, claimRequest({ max: 1, leaseMs: 10_000 }), c.clock.now());
        expect(delivered.map((d) => d.message.id)).toEqual([held!.id]);
        await c.clock.advance(50);
        expect(signal!.aborted).toBe(true);
        expect(abortedAt).toBe(100);
        expect(signal!.reason).toBeInstanceOf(LeaseLostError);
        expect(signal!.reason).toMatchObject({ code: 'ERR_LEASE_LOST', queue: QUEUE, messageId: held!.id });
        await c.clock.advance(1_000);
        expect(await queue.stats()).toMatchObject({ inflight: 1, acked: 0 });
        await consumer.stop();
        await queue.close();
      });

      contract('consumer.stop({ abandon: true }) - aborts running handlers\' signals and gives every held message back at once', async (c) => {
        const queue = new Queue<number>(QUEUE, { storage: c.storage, visibilityTimeout: 30_000 });
        const reasons: unknown[] = [];
        const consumer = queue.consume(
          async (_msg, { signal }) => {
            const slept = c.clock.sleep(10_000);
            signal.addEventListener('abort', () => reasons.push(signal.reason));
            await slept;
          },
          { concurrency: 2, prefetch: 3 },
        );
        await queue.sendBatch([{ body: 1 }, { body: 2 }, { body: 3 }]);
        await c.clock.advance(0);
        expect(consumer.active).toBe(3);
        await consumer.stop({ abandon: true });
        expect(reasons).toHaveLength(2);
        for (const reason of reasons) expect(reason).toBeInstanceOf(ClosedError);
        expect(await queue.stats()).toMatchObject({ ready: 3, inflight: 0 });
        const again = await queue.receive({ max: 10 });
        expect(again.map((m) => [m.body, m.attempt])).toEqual([
          [1, 2],
          [2, 2],
          [3, 2],
        ]);
        expect(await queue.ack(again)).toEqual([true, true, true]);
        // The abandoned handlers finish later: their acks take no effect.
        await c.clock.advance(10_000);
        expect(await queue.stats()).toMatchObject({ ready: 0, inflight: 0, acked: 3 });
        await queue.close();
      });

      contract('queue.ack(messages) - one storage call; true or false per message as msg.ack() would', async (c) => {
        const counted = countingStorage(c.storage);
        const queue = new Queue<number>(QUEUE, { storage: counted.storage, visibilityTimeout: 100 });
        const acked: number[] = [];
        queue.on('acked', (msg) => acked.push(msg.body));
        await queue.sendBatch([{ body: 1 }, { body: 2 }, { body: 3 }]);
        const first = await queue.receive({ max: 1 });
        await c.clock.advance(100);
        // The first lease ran out and the message went to someone else: its receipt is stale.
        const rest = (await queue.receive({ max: 10 })).sort((x, y) => x.body - y.body);
        expect(rest.map((m) => [m.body, m.attempt])).toEqual([
          [1, 2],
          [2, 1],
          [3, 1],
        ]);
        const before = counted.calls.get('ack') ?? 0;
        expect(await queue.ack([first[0]!, rest[1]!, rest[2]!])).toEqual([false, true, true]);
        expect(counted.calls.get('ack')).toBe(before + 1);
        expect([first[0]!, rest[1]!, rest[2]!].map((m) => m.settled)).toEqual([true, true, true]);
        expect(rest[0]!.settled).toBe(false);
        expect(acked).toEqual([2, 3]);
        expect(await queue.stats()).toMatchObject({ inflight: 1, acked: 2 });
        expect(await queue.ack([])).toEqual([]);
        expect(counted.calls.get('ack')).toBe(before + 1);
        await queue.close();
      });
    });
  });
}
