/**
 * What a storage that keeps the engine's state elsewhere (FileStorage) uses: the journal
 * the engine tells of every durable change, the exported state, and the restorer that
 * rebuilds an engine from either. The methods live on {@link Engine}; these are their types.
 */
import type { QueueStats, StoredMessage, StoredSchedule } from './types.js';

/** Rebuilds an engine one recorded change at a time; see `Engine.beginRestore`. */
export interface EngineRestorer {
  /** A stored message with its attempt count. `message` is copied at once, so a caller may reuse one object. */
  put(queue: string, message: StoredMessage): void;
  claimed(queue: string, id: string, attempt: number): void;
  released(queue: string, id: string, availableAt: number): void;
  removed(queue: string, id: string): void;
  dedupe(queue: string, dedupeId: string, id: string, until: number): void;
  /** The queue's counters, to add to or overwrite. */
  counters(queue: string): QueueCounters;
  lastToken(token: number): void;
  /** A schedule as stored (replacing one with its id), or its removal. */
  schedule(queue: string, schedule: StoredSchedule): void;
  unschedule(queue: string, id: string): void;
  /** Messages restored so far and not removed. */
  messageCount(): number;
  /** Places every message by its times; after this the engine is ready for operations. */
  finish(now: number): void;
  /** Gives up: the engine is empty again, so a failed open can be retried. */
  abort(): void;
}

/**
 * Why a message left its queue, as told to an {@link EngineJournal}. `'purged'` is every
 * removal that counts nowhere: `purge`, `remove`, and the leaving half of a redrive.
 */
export type RemovalKind = 'acked' | 'dead' | 'expired' | 'purged';

/** Receives every durable change the engine makes, synchronously, in order. */
export interface EngineJournal {
  /** A message was stored (a send, a fan-out copy, a dead-letter copy). `dedupeUntil` is set when it has a dedupeId. */
  inserted(queue: string, message: StoredMessage, dedupeUntil: number | undefined): void;
  /** A message was leased; its `attempt` has just gone up. */
  claimed(queue: string, message: StoredMessage): void;
  /** A lease ended in a retry; the message is due again at its `availableAt`. */
  released(queue: string, message: StoredMessage): void;
  /** A message left its queue. */
  removed(queue: string, id: string, kind: RemovalKind): void;
  /** A queue that held nothing was forgotten (`Engine.forget`): its counters are 0 again. */
  forgotten(queue: string): void;
  /** A schedule was stored, replaced or advanced by a tick: its whole new state. */
  scheduled(queue: string, schedule: StoredSchedule): void;
  /** A schedule was removed (by `unschedule()`, or after its last tick). */
  unscheduled(queue: string, id: string): void;
}

/** The counters of {@link QueueStats} that are history rather than current contents. */
export interface QueueCounters {
  sent: number;
  delivered: number;
  acked: number;
  retried: number;
  deadLettered: number;
  expired: number;
}

/** One queue in an {@link EngineState}. */
export interface QueueSnapshot {
  readonly name: string;
  /** Every message of the queue, in the order it was stored. A source may reuse one object for all: read each before taking the next. */
  readonly messages: Iterable<StoredMessage>;
  /** `[dedupeId, id, until]`, oldest first. */
  readonly dedupe: Iterable<readonly [string, string, number]>;
  readonly counters: QueueCounters;
}

/** Everything an engine holds, as `Engine.exportState` gives it and `Engine.restore` takes it. */
export interface EngineState {
  readonly lastToken: number;
  readonly queues: Iterable<QueueSnapshot>;
  /** Every schedule; absent in states made before schedules existed. */
  readonly schedules?: Iterable<{ readonly queue: string; readonly schedule: StoredSchedule }>;
}
