/**
 * Base class of every error pocketmq defines. `code` is stable across
 * releases: branch on it (or on `instanceof`), never on `message`.
 */
export class PocketMQError extends Error {
  /** Stable machine-readable code, e.g. `'ERR_QUEUE_FULL'`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PocketMQError';
    this.code = code;
  }
}

/** `send()` was refused because the queue holds `maxLength` waiting messages and `overflow` is `'reject'`. */
export class QueueFullError extends PocketMQError {
  /** The queue that is full. */
  readonly queue: string;
  /** The queue's `maxLength`. */
  readonly maxLength: number;

  constructor(queue: string, maxLength: number) {
    super('ERR_QUEUE_FULL', `Queue "${queue}" is full (maxLength ${maxLength}); the message was not stored`);
    this.name = 'QueueFullError';
    this.queue = queue;
    this.maxLength = maxLength;
  }
}

/** An operation did not complete within its `timeout`. */
export class TimeoutError extends PocketMQError {
  /** The timeout that elapsed, in milliseconds. */
  readonly timeout: number;

  constructor(message: string, timeout: number) {
    super('ERR_TIMEOUT', message);
    this.name = 'TimeoutError';
    this.timeout = timeout;
  }
}

/** A request's handler failed on the serving side; `message` and `remoteName` come from the remote error. */
export class RemoteError extends PocketMQError {
  /** The `name` of the error the remote handler threw (`'Error'` for a non-Error value). */
  readonly remoteName: string;

  constructor(message: string, remoteName: string) {
    super('ERR_REMOTE', message);
    this.name = 'RemoteError';
    this.remoteName = remoteName;
  }
}

/** The queue, topic, storage or consumer was closed before or during the operation. */
export class ClosedError extends PocketMQError {
  constructor(message = 'Closed') {
    super('ERR_CLOSED', message);
    this.name = 'ClosedError';
  }
}

/**
 * A running handler's lease could not be renewed: the message was redelivered, purged
 * or removed meanwhile, or the storage failed (then `cause` is its error). The
 * handler's `signal` aborts with it; another consumer may already be handling the message.
 */
export class LeaseLostError extends PocketMQError {
  /** The queue the message was leased from. */
  readonly queue: string;
  /** The id of the message whose lease was lost. */
  readonly messageId: string;

  constructor(queue: string, messageId: string, options?: { cause?: unknown }) {
    super('ERR_LEASE_LOST', `The lease of message ${messageId} in queue "${queue}" was lost; it may be delivered again`, options);
    this.name = 'LeaseLostError';
    this.queue = queue;
    this.messageId = messageId;
  }
}

/** Another live process owns the storage directory. */
export class StorageLockedError extends PocketMQError {
  /** The directory that is locked. */
  readonly dir: string;
  /** Process id of the owner, when known. */
  readonly pid: number | undefined;

  constructor(dir: string, pid: number | undefined) {
    super('ERR_STORAGE_LOCKED', `Storage directory "${dir}" is locked by ${pid === undefined ? 'another process' : `process ${pid}`}`);
    this.name = 'StorageLockedError';
    this.dir = dir;
    this.pid = pid;
  }
}

/** The file log is damaged before its tail; open with `repair: 'truncate'` to cut it there. */
export class CorruptLogError extends PocketMQError {
  /** The damaged file. */
  readonly file: string;
  /** Byte offset of the first damaged record. */
  readonly offset: number;

  constructor(file: string, offset: number, detail: string) {
    super('ERR_CORRUPT_LOG', `Log file "${file}" is corrupt at byte ${offset}: ${detail}. Open with { repair: 'truncate' } to cut the log there`);
    this.name = 'CorruptLogError';
    this.file = file;
    this.offset = offset;
  }
}
