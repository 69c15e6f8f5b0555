import type { QueueStats, Storage, StoredMessage } from './storage.js';

/** Everything one queue holds, by state, as {@link ContentsStorage.contents} reports it. Copies, not live records. */
export interface QueueContents {
  readonly name: string;
  /** Deliverable messages in delivery order, then those waiting behind the head of their FIFO group. */
  readonly ready: readonly StoredMessage[];
  /** Messages waiting for a delay or a retry backoff, earliest `availableAt` first. */
  readonly delayed: readonly StoredMessage[];
  /** Leased messages with the end of their lease, earliest first. */
  readonly inflight: readonly { readonly message: StoredMessage; readonly leaseUntil: number }[];
  readonly stats: QueueStats;
}

/**
 * A storage that can list what every queue holds, for tests and inspection
 * (`inspect()` in `pocketmq/testing`). MemoryStorage and FileStorage are; the method is
 * not part of the {@link Storage} contract, so an adapter may leave it out.
 */
export interface ContentsStorage extends Storage {
  /**
   * Every queue that holds a message or counters, sorted by name, read in one atomic
   * step after applying what fell due by `now`. O(messages): for tests and tools, not
   * for a hot path.
   */
  contents(now: number): Promise<QueueContents[]>;
}

/** Whether `storage` implements {@link ContentsStorage.contents}. */
export function hasContents(storage: Storage): storage is ContentsStorage {
  return typeof (storage as Partial<ContentsStorage>).contents === 'function';
}

/** A copy of a stored message's fields: adapters may hand out live records. */
export function copyMessage(message: StoredMessage): StoredMessage {
  return {
    id: message.id,
    body: message.body,
    headers: message.headers,
    priority: message.priority,
    enqueuedAt: message.enqueuedAt,
    availableAt: message.availableAt,
    expiresAt: message.expiresAt,
    dedupeId: message.dedupeId,
    group: message.group,
    correlationId: message.correlationId,
    subject: message.subject,
    attempt: message.attempt,
  };
}
