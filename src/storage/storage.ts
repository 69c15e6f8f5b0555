import type { Clock } from '../clock.js';
import type {
  BrowsedMessage,
  ClaimRequest,
  ClaimResult,
  DeadLetterInfo,
  DeadLettered,
  Delivery,
  EnqueuePolicy,
  EnqueueResult,
  FireResult,
  MessageState,
  NewMessage,
  QueueStats,
  Receipt,
  RedriveRequest,
  ScheduleAdvance,
  Settle,
  StoredMessage,
  StoredSchedule,
} from '../engine/types.js';

export type {
  BrowsedMessage,
  ClaimRequest,
  ClaimResult,
  DeadLetterInfo,
  DeadLettered,
  Delivery,
  EnqueuePolicy,
  EnqueueResult,
  FireResult,
  MessageState,
  NewMessage,
  QueueStats,
  Receipt,
  RedriveRequest,
  ScheduleAdvance,
  Settle,
  StoredMessage,
  StoredSchedule,
} from '../engine/types.js';

/** What a storage tells its watchers; the Queue layer turns these into wake-ups and events. */
export type StorageSignal =
  /** The queue may have deliverable messages now. */
  | { readonly type: 'ready'; readonly queue: string }
  /** Messages whose TTL ran out while waiting; they are gone from the queue. */
  | { readonly type: 'expired'; readonly queue: string; readonly messages: readonly StoredMessage[] }
  /**
   * The queue's last message (ready, delayed or in flight) is gone. Sent only by a
   * storage whose `capabilities.drainedSignals` is true, after every operation that
   * leaves a queue empty having removed something from it.
   */
  | { readonly type: 'drained'; readonly queue: string }
  /**
   * The earliest due time (delay, retry, lease expiry, TTL) changed; `undefined` when
   * nothing is due. A storage may leave out a signal for a due time that moved later (or
   * went away) until its next `tick()`: a timer set for the earlier time then only fires early.
   */
  | { readonly type: 'due'; readonly at: number | undefined }
  /**
   * The earliest tick of the storage's schedules changed (or was learned, at open or from
   * another process); `undefined` when there is none. Sent only by storages with schedules.
   */
  | { readonly type: 'schedules'; readonly at: number | undefined }
  /** The storage was closed: nothing will fall due or become ready any more. */
  | { readonly type: 'closed' };

/** What a {@link Storage} declares about itself, once, in {@link Storage.capabilities}. */
export interface StorageCapabilities {
  /**
   * True when the storage sends a `'drained'` signal whenever a queue becomes empty
   * (having removed something from it): `queue.idle()` then looks at the queue again
   * only on those signals, instead of on every wake-up of the queue.
   */
  readonly drainedSignals: boolean;
  /**
   * True when operations take effect in the order they are called, before their promise
   * settles (the engine storages run them synchronously and the promise only waits for
   * durability; RedisStorage sends each script at once on one connection, which Redis
   * runs in order). A consumer then frees an acked message's slot as soon as the ack is
   * made and claims again in the same turn: the claim cannot overtake the ack.
   */
  readonly appliesAtCall: boolean;
  /**
   * True when sends to this storage hold bodies to the JSON rule (see `Queue.send`) and
   * reject the others with `InvalidBodyError`. FileStorage and RedisStorage always do;
   * MemoryStorage does under a `TestClock` or with `validateBodies: true`.
   */
  readonly checksBodies: boolean;
  /**
   * True when an operation's promise is settled by the time the call returns: nothing
   * waits for I/O (MemoryStorage). A consumer then takes the clock reading its claim was
   * made at as the start time of the handlers it starts from that claim, saving a clock
   * read per message. Absent means false.
   */
  readonly settlesAtCall?: boolean;
}

/**
 * Queue state behind one interface at the level of queue operations. Each call is
 * atomic, is given `now` (the storage never reads a clock of its own), and takes
 * the queue's policy as arguments, so adapters keep no queue configuration.
 * Every method reports errors by rejecting.
 *
 * Implementations: `MemoryStorage`, `FileStorage` (pocketmq/file), `RedisStorage`
 * (pocketmq/redis). `test/storage-contract.ts` is the suite each one passes.
 */
export interface Storage {
  /** The clock every user of this storage reads time from and sets timers on. */
  readonly clock: Clock;
  /** What the storage promises beyond the operations themselves; callers rely on these instead of probing. */
  readonly capabilities: StorageCapabilities;
  /** Opens (idempotent). Other methods open lazily, so calling it is only needed to see errors early. */
  open(): Promise<void>;
  /** Flushes and releases resources; later calls reject with `ClosedError`. Idempotent. */
  close(): Promise<void>;

  enqueue(queue: string, items: readonly NewMessage[], policy: EnqueuePolicy, now: number): Promise<EnqueueResult>;
  /**
   * Enqueues the same message into several queues at once (topic fan-out): all or
   * none. Dedupe applies per queue; `maxLength` is not applied.
   */
  enqueueMany(queues: readonly string[], items: readonly NewMessage[], dedupeWindow: number, now: number): Promise<void>;
  /** Leases up to `max` deliverable messages, highest priority first, FIFO within a priority. */
  claim(queue: string, request: ClaimRequest, now: number): Promise<ClaimResult>;
  ack(queue: string, receipts: readonly Receipt[], now: number): Promise<Settle[]>;
  /** Ends a lease and makes the message deliverable again at `dueAt`, a finite number (a RangeError naming `dueAt` otherwise, on the engine storages). */
  release(queue: string, receipt: Receipt, dueAt: number, now: number): Promise<Settle>;
  /** Moves a leased message to `target` (or drops it when `false`), recording `info` in its headers. */
  deadLetter(queue: string, receipt: Receipt, target: string | false, info: DeadLetterInfo, now: number): Promise<Settle>;
  /** Moves the lease's end to `leaseUntil`. */
  extend(queue: string, receipt: Receipt, leaseUntil: number, now: number): Promise<Settle>;
  stats(queue: string, now: number): Promise<QueueStats>;
  /**
   * The queue's `sent` counter (as in {@link Storage.stats}) read synchronously, for a
   * storage whose state lives in this process; `undefined` whenever it cannot answer at
   * once (not open yet, closed). Optional: a storage without it is asked through
   * `stats()`. A topic uses it to see, before `publish()` returns, that no subscription
   * was recorded since it last looked, and then calls its live listeners at once.
   */
  sentNow?(queue: string): number | undefined;
  /**
   * {@link Storage.ack} answered synchronously, for a storage that waits for nothing
   * (`capabilities.settlesAtCall`): the settles `ack()` would resolve with, or `undefined`
   * whenever it cannot answer at once (closed), and the caller then calls `ack()`. Throws
   * what `ack()` would reject with. Optional. A consumer uses it to ack without a promise.
   */
  ackNow?(queue: string, receipts: readonly Receipt[], now: number): Settle[] | undefined;
  /** {@link Storage.enqueue} answered synchronously, as {@link Storage.ackNow} is to `ack()`. */
  enqueueNow?(queue: string, items: readonly NewMessage[], policy: EnqueuePolicy, now: number): EnqueueResult | undefined;
  /** {@link Storage.claim} answered synchronously, as {@link Storage.ackNow} is to `ack()`. */
  claimNow?(queue: string, request: ClaimRequest, now: number): ClaimResult | undefined;
  /** Removes every waiting (ready or delayed) message; messages in flight are left to their consumers. Returns how many went. */
  purge(queue: string, now: number): Promise<number>;
  /**
   * Forgets a queue that holds nothing, so that a queue used once (a RequestReply's
   * reply queue) costs no memory, disk or keys once done with: its counters go, and
   * start again from 0 if it is used again. Resolves false, changing nothing, while
   * the queue holds a message (ready, delayed or in flight) or remembers a dedupeId
   * within its window. Optional; absent means queues are never forgotten.
   */
  forget?(queue: string, now: number): Promise<boolean>;
  /**
   * Stores a schedule of `queue`, replacing the one with its id. Optional, with
   * `deleteSchedule`, `listSchedules` and `fireSchedule`: a storage without them has no
   * schedules, and `Queue.schedule()` rejects on it.
   */
  putSchedule?(queue: string, schedule: StoredSchedule, now: number): Promise<void>;
  /** Removes a schedule; resolves true if it existed. */
  deleteSchedule?(queue: string, id: string, now: number): Promise<boolean>;
  /** The schedules of `queue`, or of every queue when `undefined`, ordered by queue then id. */
  listSchedules?(queue: string | undefined, now: number): Promise<{ queue: string; schedule: StoredSchedule }[]>;
  /**
   * Fires one tick, atomically: if the schedule's stored `next` still equals
   * `expectedNext`, enqueues `items` under the schedule's stored policy and sets its
   * `next`, `last` and `count` from `update` (removing it when `update.next` is
   * `undefined`); otherwise does nothing and resolves `'stale'`. Of several processes
   * racing for one tick, exactly one sends it.
   */
  fireSchedule?(queue: string, id: string, expectedNext: number, update: ScheduleAdvance, items: readonly NewMessage[], now: number): Promise<FireResult>;
  /** Up to `max` ready messages in delivery order, without leasing them. */
  peek(queue: string, max: number, now: number): Promise<StoredMessage[]>;
  /**
   * The admin operations below are optional so that an adapter written before them keeps
   * compiling; every adapter of this package has them. `Queue.remove`, `Queue.redrive`,
   * `Queue.peek({ state })` reject with code `'ERR_UNSUPPORTED'` on a storage without them.
   */
  /**
   * Removes one waiting (ready, delayed, or behind its FIFO group's head) message by id.
   * Resolves false, changing nothing, when the message is in flight or not in the queue.
   * Its dedupeId stays remembered for its window; no counter changes.
   */
  remove?(queue: string, id: string, now: number): Promise<boolean>;
  /**
   * Moves up to `request.max` ready messages of `queue`, in delivery order, each to
   * `request.to` or else to the queue its `x-original-queue` header names (a valid queue
   * name other than `queue`); the others stay. Atomic per message: a crash leaves each
   * one in exactly one of the two queues. A moved message is stored anew (attempt 0, no
   * dedupeId, no TTL, `maxLength` not applied) with its id, body, priority, group,
   * correlationId, subject and headers, except the dead-letter headers, and with
   * `x-redrive-count` one more. Resolves with how many moved.
   */
  redrive?(queue: string, request: RedriveRequest, now: number): Promise<number>;
  /**
   * Up to `max` messages of the queue in `state`, without leasing them: ready ones in
   * delivery order then those behind their group's head; delayed ones by when they
   * become ready; in-flight ones by lease end (`leaseUntil`).
   */
  browse?(queue: string, state: MessageState, max: number, now: number): Promise<BrowsedMessage[]>;
  /** The names of the queues that hold a message, a dedupeId within its window, or counters, sorted. */
  queues?(now: number): Promise<string[]>;
  /** Applies everything due by `now` (delays, retries, lease expiries, TTLs) and signals what changed. */
  tick(now: number): Promise<void>;
  /** Registers a listener for {@link StorageSignal}s; returns the function that removes it. */
  watch(listener: (signal: StorageSignal) => void): () => void;
}
