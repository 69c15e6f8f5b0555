import type { Clock } from '../clock.js';

/**
 * A message as given to {@link Storage.enqueue}. Times are absolute milliseconds
 * on the storage's clock. Optional fields are `undefined` when unused.
 */
export interface NewMessage {
  /** Unique id, chosen by the caller. */
  readonly id: string;
  /** The payload. Memory keeps the reference; file and Redis store it encoded. */
  readonly body: unknown;
  /** String headers; `undefined` when there are none. */
  readonly headers: Readonly<Record<string, string>> | undefined;
  /** Integer, higher first. */
  readonly priority: number;
  /** When `send()` was called. */
  readonly enqueuedAt: number;
  /** When it may first be delivered (`enqueuedAt + delay`). */
  readonly availableAt: number;
  /** When it expires if still waiting (`enqueuedAt + ttl`). */
  readonly expiresAt: number | undefined;
  /** Duplicate sends with the same id within the dedupe window are stored once. */
  readonly dedupeId: string | undefined;
  /** FIFO group: delivered in order, at most one in flight per group. */
  readonly group: string | undefined;
  readonly correlationId: string | undefined;
  readonly subject: string | undefined;
}

/** A stored message. Read it synchronously and do not mutate it: adapters may hand out live records. */
export interface StoredMessage extends NewMessage {
  /** Deliveries so far (1 during the first delivery). */
  readonly attempt: number;
}

/** A delivery's proof of lease: ack/release/extend succeed only while it is the current lease. */
export interface Receipt {
  readonly id: string;
  readonly token: number;
}

/**
 * Outcome of ack/release/deadLetter/extend: `'ok'`; `'stale'` when the message
 * was redelivered under a newer lease (or is no longer leased); `'missing'`
 * when it is no longer in the queue.
 */
export type Settle = 'ok' | 'stale' | 'missing';

/** How {@link Storage.enqueue} treats the queue's bounds. Policy travels with every call. */
export interface EnqueuePolicy {
  /** Most waiting (ready or delayed) messages; `undefined` is unbounded. */
  readonly maxLength: number | undefined;
  /** What to do when a send would exceed `maxLength`. */
  readonly overflow: 'reject' | 'drop-oldest';
  /** Where `drop-oldest` dead-letters what it drops (`false`: nowhere). */
  readonly deadLetter: string | false;
  /** How long a `dedupeId` is remembered, in ms. */
  readonly dedupeWindow: number;
}

export interface EnqueueResult {
  /**
   * Per item, in order: `'stored'`, or `'duplicate'` with the id already stored
   * for its dedupeId. When the batch does not fit under `maxLength` with
   * `overflow: 'reject'`, `full` is true and nothing at all was stored.
   */
  readonly results: readonly { id: string; status: 'stored' | 'duplicate' }[];
  readonly full: boolean;
  /** Messages removed by `overflow: 'drop-oldest'` to make room. */
  readonly dropped: readonly DeadLettered[];
}

export interface ClaimRequest {
  /** Most messages to lease (>= 1). */
  readonly max: number;
  /** Lease length in ms (the visibility timeout). */
  readonly leaseMs: number;
  /** A message already delivered this many times is dead-lettered instead of delivered again. */
  readonly maxAttempts: number;
  /** Where such a message goes; `false` drops it (it is still reported). */
  readonly deadLetter: string | false;
}

export interface Delivery {
  readonly message: StoredMessage;
  readonly receipt: Receipt;
}

/** A message that left its queue for a dead-letter queue (or for nowhere, when `target` is `false`). */
export interface DeadLettered {
  readonly message: StoredMessage;
  readonly reason: string;
  readonly target: string | false;
}

export interface ClaimResult {
  readonly delivered: readonly Delivery[];
  /** Messages whose leases had run out after their last allowed attempt. */
  readonly deadLettered: readonly DeadLettered[];
}

/** Why a message is dead-lettered, recorded in the copy's headers. */
export interface DeadLetterInfo {
  /** Short machine-readable reason, e.g. `'max-attempts'`, `'rejected'`, `'overflow'`. */
  readonly reason: string;
  /** The last error's message, when an error caused it. */
  readonly error?: string | undefined;
}

/** Counts for one queue. */
export interface QueueStats {
  /** Waiting and deliverable now (a message waiting behind its FIFO group counts here). */
  readonly ready: number;
  /** Waiting for a delay or a retry backoff to pass. */
  readonly delayed: number;
  /** Leased to a consumer and not yet settled. */
  readonly inflight: number;
  /** Messages stored by send (duplicates excluded). */
  readonly sent: number;
  /** Deliveries, redeliveries included. */
  readonly delivered: number;
  readonly acked: number;
  /** Deliveries that ended in a release (nack or failed handler) for another attempt. */
  readonly retried: number;
  /** Messages that left this queue dead-lettered (or dropped with `deadLetter: false`). */
  readonly deadLettered: number;
  /** Messages whose TTL ran out while waiting. */
  readonly expired: number;
}

/** What a storage tells its watchers; the Queue layer turns these into wake-ups and events. */
export type StorageSignal =
  /** The queue may have deliverable messages now. */
  | { readonly type: 'ready'; readonly queue: string }
  /** Messages whose TTL ran out while waiting; they are gone from the queue. */
  | { readonly type: 'expired'; readonly queue: string; readonly messages: readonly StoredMessage[] }
  /**
   * The queue's last message (ready, delayed or in flight) is gone. Sent only by a
   * storage whose {@link Storage.signalsDrained} is true, after every operation that
   * leaves a queue empty having removed something from it.
   */
  | { readonly type: 'drained'; readonly queue: string }
  /**
   * The earliest due time (delay, retry, lease expiry, TTL) changed; `undefined` when
   * nothing is due. A storage may leave out a signal for a due time that moved later (or
   * went away) until its next `tick()`: a timer set for the earlier time then only fires early.
   */
  | { readonly type: 'due'; readonly at: number | undefined }
  /** The storage was closed: nothing will fall due or become ready any more. */
  | { readonly type: 'closed' };

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
  /**
   * True when the storage sends a `'drained'` signal whenever a queue becomes empty:
   * `queue.idle()` then looks at the queue again only on those signals, instead of
   * on every wake-up of the queue. Optional; absent means false.
   */
  readonly signalsDrained?: boolean;
  /**
   * Whether sends to this storage hold bodies to the JSON rule (see `Queue.send`) and
   * reject the others with `InvalidBodyError`. Optional; absent means true.
   */
  readonly checksBodies?: boolean;
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
  /** Up to `max` ready messages in delivery order, without leasing them. */
  peek(queue: string, max: number, now: number): Promise<StoredMessage[]>;
  /** Applies everything due by `now` (delays, retries, lease expiries, TTLs) and signals what changed. */
  tick(now: number): Promise<void>;
  /** Registers a listener for {@link StorageSignal}s; returns the function that removes it. */
  watch(listener: (signal: StorageSignal) => void): () => void;

  /** Records a named set of strings (topic subscriptions); resolves once durable. */
  putMeta(key: string, value: string | undefined): Promise<void>;
  /** Reads what {@link Storage.putMeta} recorded. */
  getMeta(key: string): Promise<string | undefined>;
}
