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

// ---------------------------------------------------------------------------------------------
// One class across copies. The ESM and CommonJS builds each define these classes; an error
// thrown by one must still be `instanceof` the other's. Each class carries a registered
// brand, and `instanceof` also accepts a value whose prototype chain has a class of the same
// brand. A class missing from BRANDED (a user's subclass) keeps the ordinary `instanceof`.
// ---------------------------------------------------------------------------------------------

const BRAND = Symbol.for('pocketmq.errorClass');
type Branded = abstract new (...args: never[]) => unknown;

const BRANDED: readonly [Branded, string][] = [
  [PocketMQError, 'PocketMQError'],
  [QueueFullError, 'QueueFullError'],
  [TimeoutError, 'TimeoutError'],
  [RemoteError, 'RemoteError'],
  [ClosedError, 'ClosedError'],
  [StorageLockedError, 'StorageLockedError'],
  [CorruptLogError, 'CorruptLogError'],
];

for (const [errorClass, name] of BRANDED) Object.defineProperty(errorClass, BRAND, { value: `pocketmq.${name}` });

/** The brand `errorClass` defines itself (not one inherited from the class it extends). */
const brandOf = (errorClass: unknown): string | undefined =>
  typeof errorClass === 'function' && Object.hasOwn(errorClass, BRAND) ? (errorClass as unknown as Record<symbol, string>)[BRAND] : undefined;

Object.defineProperty(PocketMQError, Symbol.hasInstance, {
  value(this: Branded, value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    const brand = brandOf(this);
    if (brand === undefined || typeof value !== 'object' || value === null) return false;
    for (let proto = Object.getPrototypeOf(value); proto !== null; proto = Object.getPrototypeOf(proto)) {
      if (brandOf(Object.getOwnPropertyDescriptor(proto, 'constructor')?.value) === brand) return true;
    }
    return false;
  },
});
