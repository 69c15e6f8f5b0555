/**
 * The engine's message, receipt and result types. The Storage contract
 * (src/storage/storage.ts) is written in them and re-exports them, so every adapter
 * speaks the engine's language; the engine itself imports nothing outside src/engine/.
 */

/**
 * A message as given to `Storage.enqueue`. Times are absolute milliseconds
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

/** How `Storage.enqueue` treats the queue's bounds. Policy travels with every call. */
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
  /** Short machine-readable reason, e.g. `'max-attempts'`, `'rejected'`, `'overflow'`, `'invalid'` (failed the queue's schema when claimed). */
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

/** The header names a dead-letter copy records its story under; the engine is given them by its caller. */
export interface DeadLetterHeaderNames {
  readonly reason: string;
  readonly error: string;
  readonly queue: string;
  readonly attempts: string;
  readonly at: string;
  /** Counts how many times a message was redriven out of a dead-letter queue. */
  readonly redriveCount: string;
}

/** Where a message is in its queue's life, as `Storage.browse` lists them. */
export type MessageState = 'ready' | 'delayed' | 'inflight';

/** One message as `Storage.browse` lists it. */
export interface BrowsedMessage {
  readonly message: StoredMessage;
  /** When its lease runs out: set for an in-flight message only. */
  readonly leaseUntil: number | undefined;
}

/** What `Storage.redrive` moves, and where. */
export interface RedriveRequest {
  /** Most messages to move (>= 1). */
  readonly max: number;
  /** The queue every moved message goes to; `undefined`: each to its `x-original-queue`. */
  readonly to: string | undefined;
}

/**
 * Makes the errors the engine throws. The caller passes the library's error classes
 * (PocketMQError subclasses), so the engine imports nothing outside src/engine/.
 */
export interface EngineErrors {
  /** An argument outside what the engine accepts: an `OutOfRangeError` naming `argument`. */
  outOfRange(argument: string, message: string): Error;
  /** A broken invariant, i.e. a bug in the engine's caller: an `ERR_INTERNAL` error. */
  internal(message: string): Error;
}

/**
 * A recurring send as a storage keeps it (see `Queue.schedule`). The storage only
 * stores it and compares `next` when a tick is fired (`Storage.fireSchedule`); the tick arithmetic (intervals,
 * cron expressions, time zones) runs in the process that fires it.
 */
export interface StoredSchedule {
  /** Unique per queue. */
  readonly id: string;
  /** Interval in ms between ticks, or `undefined` for a cron schedule. */
  readonly every: number | undefined;
  /** Cron expression, or `undefined` for an interval schedule. */
  readonly cron: string | undefined;
  /** IANA time zone of `cron`; `undefined` is UTC. */
  readonly tz: string | undefined;
  /** The next tick's time. */
  readonly next: number;
  /** The last tick sent, `undefined` before the first. */
  readonly last: number | undefined;
  /** Messages sent so far. */
  readonly count: number;
  /** The body every tick sends. Memory keeps the reference; file and Redis store it encoded. */
  readonly body: unknown;
  /** The options given to `schedule()`, as plain JSON (schedule and send options). */
  readonly options: Readonly<Record<string, unknown>>;
  /** How the ticks' sends treat the queue's bounds: the policy of the handle that scheduled it. */
  readonly policy: EnqueuePolicy;
}

/** A schedule's state after a tick, as given to a storage's `fireSchedule`. */
export interface ScheduleAdvance {
  /** The following tick, or `undefined` when there is none (limit reached, past `endAt`): the schedule is then removed. */
  readonly next: number | undefined;
  readonly last: number | undefined;
  readonly count: number;
}

/**
 * Outcome of firing a tick: `'stale'` when the stored `next` was not the expected one
 * (another process fired it, or the schedule changed or went), and nothing was done;
 * otherwise the enqueue's result.
 */
export type FireResult = EnqueueResult | 'stale';
