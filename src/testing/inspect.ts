import { DEAD_LETTER_HEADERS } from '../dead-letter-headers.js';
import { type MessageInfo, infoOf } from '../message.js';
import { hasContents } from '../storage/queue-contents.js';
import type { QueueStats, Storage } from '../storage/storage.js';
import { InvalidArgumentError } from '../errors.js';
import { expected } from '../validate.js';

/** A message waiting for its delay or retry backoff, as {@link inspect} shows it. */
export interface DelayedMessageInfo<T = unknown> extends MessageInfo<T> {
  /** When it becomes deliverable, in ms since the epoch on the storage's clock. */
  readonly availableAt: number;
}

/** A message leased to a consumer, as {@link inspect} shows it. */
export interface InflightMessageInfo<T = unknown> extends MessageInfo<T> {
  /** When its lease runs out unless it is settled or extended, in ms since the epoch. */
  readonly leaseUntil: number;
}

/** One queue, as {@link inspect} shows it. */
export interface QueueView<T = unknown> {
  /** Deliverable messages in delivery order, then those waiting behind the head of their FIFO group. */
  readonly ready: MessageInfo<T>[];
  /** Messages waiting for a delay or a retry backoff, earliest first. */
  readonly delayed: DelayedMessageInfo<T>[];
  /** Messages leased to a consumer (a running handler, or a `receive()` not yet settled), earliest lease end first. */
  readonly inflight: InflightMessageInfo<T>[];
  /**
   * This queue's dead letters: the messages of any other queue (its dead-letter queue)
   * whose `x-original-queue` header names it, with their `x-dead-*` headers.
   */
  readonly dead: MessageInfo<T>[];
  /** The queue's {@link QueueStats}: counts and counters. */
  readonly stats: QueueStats;
}

/** Every queue of a storage by name, sorted, as {@link inspect} returns it. */
export type StorageView = Record<string, QueueView>;

/**
 * What every queue of `storage` holds right now: its ready, delayed and in-flight
 * messages, its dead letters and its stats, read in one atomic step, for assertions:
 *
 * ```ts
 * const view = await inspect(storage);
 * expect(view.emails.dead).toMatchObject([{ body: { to: 'a@b.c' }, headers: { 'x-dead-reason': 'max-attempts' } }]);
 * expect(view.emails.stats).toMatchObject({ ready: 0, inflight: 0, retried: 2 });
 * ```
 *
 * Lists queues that hold a message or have counted one (a queue never used is absent).
 * Works on MemoryStorage and FileStorage; rejects with an `InvalidArgumentError` for a
 * storage that cannot list its messages (RedisStorage).
 */
export async function inspect(storage: Storage): Promise<StorageView> {
  if (typeof storage !== 'object' || storage === null || typeof (storage as Partial<Storage>).clock?.now !== 'function') {
    throw expected('storage', 'a storage (MemoryStorage, FileStorage)', storage);
  }
  if (!hasContents(storage)) {
    throw new InvalidArgumentError('storage', 'Expected `storage` to be a storage that can list its messages (MemoryStorage or FileStorage), got one without contents()');
  }
  const queues = await storage.contents(storage.clock.now());
  const view: StorageView = {};
  const deadOf = new Map<string, MessageInfo<unknown>[]>();
  for (const queue of queues) {
    const ready = queue.ready.map((m) => infoOf<unknown>(m));
    const delayed = queue.delayed.map((m): DelayedMessageInfo => ({ ...infoOf<unknown>(m), availableAt: m.availableAt }));
    const inflight = queue.inflight.map(({ message, leaseUntil }): InflightMessageInfo => ({ ...infoOf<unknown>(message), leaseUntil }));
    for (const info of [...ready, ...delayed, ...inflight]) {
      const origin = info.headers[DEAD_LETTER_HEADERS.queue];
      if (origin === undefined || origin === queue.name) continue;
      let dead = deadOf.get(origin);
      if (dead === undefined) deadOf.set(origin, (dead = []));
      dead.push(info);
    }
    // defineProperty: a queue may be named like an Object.prototype member.
    Object.defineProperty(view, queue.name, { value: { ready, delayed, inflight, dead: [], stats: queue.stats }, enumerable: true, writable: true, configurable: true });
  }
  for (const [origin, dead] of deadOf) {
    const target = Object.hasOwn(view, origin) ? view[origin]! : undefined;
    if (target) target.dead.push(...dead);
  }
  return view;
}
