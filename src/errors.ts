/**
 * Marks every pocketmq error, including the argument errors that extend
 * `TypeError`/`RangeError`. `Symbol.for` gives the same symbol to every copy of
 * this module (ESM and CommonJS builds, bundled copies), so `instanceof
 * PocketMQError` holds for an error made by any of them.
 */
const BRAND: unique symbol = Symbol.for('pocketmq.error') as never;

function brand(prototype: object): void {
  Object.defineProperty(prototype, BRAND, { value: true });
}

/**
 * Base class of every error pocketmq raises. `code` is stable across
 * releases: branch on it (or on `instanceof`), never on `message`.
 *
 * `x instanceof PocketMQError` is true for every error below, including
 * {@link InvalidArgumentError} and {@link OutOfRangeError} (which extend
 * `TypeError` and `RangeError` instead), and across the ESM and CommonJS builds.
 *
 * The codes:
 * - `ERR_INVALID_ARGUMENT` ({@link InvalidArgumentError}, a `TypeError`): an argument or option of the wrong type or shape.
 * - `ERR_OUT_OF_RANGE` ({@link OutOfRangeError}, a `RangeError`): a number or name outside what the argument accepts.
 * - `ERR_INVALID_BODY` ({@link InvalidBodyError}, a `TypeError`): a body that JSON cannot give back unchanged.
 * - `ERR_INVALID_MESSAGE` ({@link ValidationError}): a body that the queue's `schema` refuses, at send or when claimed.
 * - `ERR_ALREADY_SETTLED` ({@link AlreadySettledError}): a second `ack()`/`nack()`/`deadLetter()`, or `extend()` after one.
 * - `ERR_QUEUE_FULL` ({@link QueueFullError}), `ERR_TIMEOUT` ({@link TimeoutError}), `ERR_REMOTE` ({@link RemoteError}),
 *   `ERR_CLOSED` ({@link ClosedError}), `ERR_STORAGE_LOCKED` ({@link StorageLockedError}), `ERR_CORRUPT_LOG` ({@link CorruptLogError}).
 * - `ERR_STORAGE_FAILED`: a FileStorage write or fsync failed; the storage stopped (the I/O error is the `cause`).
 * - `ERR_REDIS`: a RedisStorage operation failed or could not be sent (the Redis error is the `cause`).
 * - `ERR_NACKED`: the error a `nack()` hands to `'retry'` listeners and backoff functions.
 * - `ERR_NON_ERROR_THROWN`: a handler threw something that is not an `Error`; the message describes it.
 * - `ERR_UNHANDLED_ERROR`: the process warning for an `'error'` nobody listened to (the error is the `cause`).
 * - `ERR_SUBSCRIPTIONS_UNREADABLE`, `ERR_TOO_MANY_SUBSCRIPTION_CHANGES`: a topic's recorded subscriptions cannot be used.
 * - `ERR_STORAGE_DIR_WORLD_WRITABLE`: a FileStorage `'warning'`: its existing directory is writable by every user.
 * - `ERR_READ_ONLY` ({@link ReadOnlyError}): a change asked of a storage opened read-only (a FileStorage with `readOnly: true`).
 * - `ERR_UNSUPPORTED` ({@link UnsupportedError}): the storage does not implement an optional operation (schedules; `remove`, `redrive`, `peek` by state).
 * - `ERR_RUN_LIMIT` ({@link RunLimitError}): `TestClock.runAll()` fired its `limit` of timers and work was still due.
 * - `ERR_HANDLER_STALLED`: the process warning of a `TestClock` that stopped waiting for a handler (see `pocketmq/testing`).
 * - `ERR_WRITE_NO_PROGRESS`: the OS accepted no byte of a log write (the `cause` of an `ERR_STORAGE_FAILED`).
 * - `ERR_UNDECRYPTABLE` ({@link UndecryptableError}), `ERR_BAD_SIGNATURE` ({@link BadSignatureError}): a stored body a
 *   storage's codec could not open; the message is dead-lettered with reason `'undecryptable'` / `'bad-signature'`.
 * - `ERR_INTERNAL`: a broken invariant inside pocketmq (a bug: please report it).
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
brand(PocketMQError.prototype);

/**
 * An argument or option has the wrong type or shape; the message names it and what
 * was expected. A `TypeError` (as DESIGN.md promises) and a {@link PocketMQError}.
 */
export class InvalidArgumentError extends TypeError {
  /** Stable machine-readable code: `'ERR_INVALID_ARGUMENT'` (`'ERR_INVALID_BODY'` for {@link InvalidBodyError}). */
  readonly code: string;
  /** The argument, as the message names it: `'options.priority'`, `'items[2].body'`. */
  readonly argument: string;

  constructor(argument: string, message: string, code = 'ERR_INVALID_ARGUMENT') {
    super(message);
    // The built-in name, as Node's own argument errors keep it: code and instanceof tell them apart.
    this.name = 'TypeError';
    this.code = code;
    this.argument = argument;
  }
}
brand(InvalidArgumentError.prototype);

/**
 * A number (or name) is outside what the argument accepts; the message names the
 * argument and the accepted range. A `RangeError` and a {@link PocketMQError}.
 */
export class OutOfRangeError extends RangeError {
  /** Stable machine-readable code: `'ERR_OUT_OF_RANGE'`. */
  readonly code: string = 'ERR_OUT_OF_RANGE';
  /** The argument, as the message names it. */
  readonly argument: string;

  constructor(argument: string, message: string) {
    super(message);
    this.name = 'RangeError';
    this.argument = argument;
  }
}
brand(OutOfRangeError.prototype);

/**
 * A body that JSON cannot give back unchanged (see `Queue.send`): nothing was
 * stored. `path` says where in the body the offending value is.
 */
export class InvalidBodyError extends InvalidArgumentError {
  /** Where the offending value is, from the argument: `'body'`, `'body.items[2].at'`. */
  readonly path: string;

  constructor(argument: string, path: string, message: string) {
    super(argument, message, 'ERR_INVALID_BODY');
    this.path = path;
  }
}

/** One issue of a failed schema validation, as the Standard Schema spec reports it. */
export interface ValidationIssue {
  /** What is wrong, in the schema library's words. */
  readonly message: string;
  /** Where in the body, if the schema said: keys, or `{ key }` segments. */
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/**
 * A body failed its queue's `schema` (any Standard Schema v1: zod, valibot...).
 * At send (`argument` set), nothing was stored. When claimed (`queue` and
 * `messageId` set), the message was dead-lettered with reason `'invalid'` and never
 * reached a handler; this error is the queue's `'error'` event.
 */
export class ValidationError extends PocketMQError {
  /** The schema's issues, as it reported them. */
  readonly issues: readonly ValidationIssue[];
  /** The argument that was refused at send, e.g. `'body'`, `'items[2].body'`; undefined when claimed. */
  readonly argument: string | undefined;
  /** The queue a claimed message failed in; undefined at send. */
  readonly queue: string | undefined;
  /** The id of the claimed message that failed; undefined at send. */
  readonly messageId: string | undefined;

  constructor(issues: readonly ValidationIssue[], where: { argument: string } | { queue: string; messageId: string }) {
    const what = 'argument' in where ? `\`${where.argument}\` does not match the schema` : `Message ${where.messageId} in queue "${where.queue}" does not match the schema`;
    super('ERR_INVALID_MESSAGE', `${what}: ${describeIssues(issues)}`);
    this.name = 'ValidationError';
    this.issues = issues;
    this.argument = 'argument' in where ? where.argument : undefined;
    this.queue = 'queue' in where ? where.queue : undefined;
    this.messageId = 'messageId' in where ? where.messageId : undefined;
  }
}

/** The first few issues as `path: message`, so the error's message says what to fix. */
function describeIssues(issues: readonly ValidationIssue[]): string {
  const shown = issues.slice(0, 3).map((issue) => {
    const path = (issue.path ?? []).map((segment) => String(typeof segment === 'object' && segment !== null ? segment.key : segment)).join('.');
    return path === '' ? issue.message : `${path}: ${issue.message}`;
  });
  if (issues.length > shown.length) shown.push(`and ${issues.length - shown.length} more`);
  return shown.length === 0 ? 'the schema reported a failure without issues' : shown.join('; ');
}

/** A delivery was settled twice (`ack()` after `ack()`, `nack()` after `deadLetter()`), or `extend()`ed after it was settled. */
export class AlreadySettledError extends PocketMQError {
  /** The id of the message whose delivery was already settled. */
  readonly messageId: string;

  constructor(messageId: string, operation: string) {
    super('ERR_ALREADY_SETTLED', `Cannot ${operation}() message ${messageId}: it is already settled`);
    this.name = 'AlreadySettledError';
    this.messageId = messageId;
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

/**
 * `TestClock.runAll()` fired its `limit` of timers and work was still due: a retry loop
 * or a poll that never ends, or a limit too low for the test. Time stays where the last
 * timer left it.
 */
export class RunLimitError extends PocketMQError {
  /** The `limit` that was reached. */
  readonly limit: number;
  /** The clock's time when it stopped. */
  readonly at: number;

  constructor(limit: number, at: number) {
    super(
      'ERR_RUN_LIMIT',
      `TestClock.runAll() fired ${limit} timers and work is still due at ${at} (a retry loop or a poll that never ends?): ` +
        'pass { until } to stop at a time, or a larger { limit }',
    );
    this.name = 'RunLimitError';
    this.limit = limit;
    this.at = at;
  }
}

/**
 * The storage does not implement an optional operation (a third-party storage without
 * schedules or admin operations, given to `queue.schedule()` or `queue.redrive()`):
 * nothing was done.
 */
export class UnsupportedError extends PocketMQError {
  /** The operation refused, e.g. `'schedule'`. */
  readonly operation: string;

  constructor(operation: string, message: string) {
    super('ERR_UNSUPPORTED', message);
    this.name = 'UnsupportedError';
    this.operation = operation;
  }
}

/**
 * A change (a send, a claim, an ack, a purge, a redrive...) was asked of a storage opened
 * read-only, such as a `FileStorage` with `readOnly: true` reading a directory another
 * process holds. Nothing was changed.
 */
export class ReadOnlyError extends PocketMQError {
  /** The operation refused, e.g. `'purge'`. */
  readonly operation: string;

  constructor(operation: string, message: string) {
    super('ERR_READ_ONLY', message);
    this.name = 'ReadOnlyError';
    this.operation = operation;
  }
}

/**
 * A stored body that a storage's codec could not open (see `pocketmq/crypto`): it does
 * not decrypt with any known key, was changed, or is not in the codec's format. The
 * message is never handed to a handler: it is dead-lettered with reason `'undecryptable'`,
 * and this error is its queue's `'error'` event.
 */
export class UndecryptableError extends PocketMQError {
  /** The message's id. */
  readonly messageId: string;

  constructor(messageId: string, message: string, options?: { cause?: unknown }, code = 'ERR_UNDECRYPTABLE') {
    super(code, message, options);
    this.name = 'UndecryptableError';
    this.messageId = messageId;
  }
}

/**
 * A stored body whose signature does not verify with any trusted public key, or that
 * carries no signature. Dead-lettered with reason `'bad-signature'`, as
 * {@link UndecryptableError} is with `'undecryptable'`.
 */
export class BadSignatureError extends UndecryptableError {
  constructor(messageId: string, message: string, options?: { cause?: unknown }) {
    super(messageId, message, options, 'ERR_BAD_SIGNATURE');
    this.name = 'BadSignatureError';
  }
}

// ---------------------------------------------------------------------------------------------
// One class across copies. The ESM and CommonJS builds each define these classes; an error
// thrown by one must still be `instanceof` the other's. Each class carries a registered
// brand, and `instanceof` also accepts a value whose prototype chain has a class of the same
// brand. A class missing from BRANDED (a user's subclass) keeps the ordinary `instanceof`.
// ---------------------------------------------------------------------------------------------

const CLASS_BRAND = Symbol.for('pocketmq.errorClass');
type Branded = abstract new (...args: never[]) => unknown;

const BRANDED: readonly [Branded, string][] = [
  [PocketMQError, 'PocketMQError'],
  [QueueFullError, 'QueueFullError'],
  [TimeoutError, 'TimeoutError'],
  [RemoteError, 'RemoteError'],
  [ClosedError, 'ClosedError'],
  [StorageLockedError, 'StorageLockedError'],
  [CorruptLogError, 'CorruptLogError'],
  [AlreadySettledError, 'AlreadySettledError'],
  [LeaseLostError, 'LeaseLostError'],
  [InvalidArgumentError, 'InvalidArgumentError'],
  [OutOfRangeError, 'OutOfRangeError'],
  [InvalidBodyError, 'InvalidBodyError'],
  [RunLimitError, 'RunLimitError'],
  [UnsupportedError, 'UnsupportedError'],
  [ReadOnlyError, 'ReadOnlyError'],
  [ValidationError, 'ValidationError'],
  [UndecryptableError, 'UndecryptableError'],
  [BadSignatureError, 'BadSignatureError'],
];

for (const [errorClass, name] of BRANDED) Object.defineProperty(errorClass, CLASS_BRAND, { value: `pocketmq.${name}` });

/** The brand `errorClass` defines itself (not one inherited from the class it extends). */
const brandOf = (errorClass: unknown): string | undefined =>
  typeof errorClass === 'function' && Object.hasOwn(errorClass, CLASS_BRAND) ? (errorClass as unknown as Record<symbol, string>)[CLASS_BRAND] : undefined;

const hasInstance = {
  value(this: Branded, value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    // Every pocketmq error, argument errors included, carries the error brand on its prototype.
    if (this === PocketMQError) return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
    const brand = brandOf(this);
    if (brand === undefined || typeof value !== 'object' || value === null) return false;
    for (let proto = Object.getPrototypeOf(value); proto !== null; proto = Object.getPrototypeOf(proto)) {
      if (brandOf(Object.getOwnPropertyDescriptor(proto, 'constructor')?.value) === brand) return true;
    }
    return false;
  },
};
// The argument errors extend TypeError/RangeError, so they need the rule of their own.
for (const errorClass of [PocketMQError, InvalidArgumentError, OutOfRangeError]) Object.defineProperty(errorClass, Symbol.hasInstance, hasInstance);
