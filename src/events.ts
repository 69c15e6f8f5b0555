import { PocketMQError } from './errors.js';
import type { Message, MessageInfo } from './message.js';

/** Events of a {@link Queue}; listener signatures are checked at compile time. */
export interface QueueEvents<T> {
  /** A message was stored by this handle's `send()`/`sendBatch()` (not emitted for a deduplicated send). */
  sent: (message: MessageInfo<T>) => void;
  /** A message was delivered to a consumer or `receive()` of this handle. */
  delivered: (message: Message<T>) => void;
  /** A delivery of this handle was acknowledged and the message removed. */
  acked: (message: Message<T>) => void;
  /** A delivery failed and the message will be delivered again after `delayMs`. */
  retry: (message: Message<T>, error: unknown, delayMs: number) => void;
  /** A message left the queue for its dead-letter queue (or was dropped with `deadLetter: false`). */
  dead: (message: MessageInfo<T>, reason: string) => void;
  /** A message's TTL ran out before it was delivered; it is gone. */
  expired: (message: MessageInfo<T>) => void;
  /** A background operation failed (a storage error in a consumer, an ack that could not be written). */
  error: (error: Error) => void;
}

/**
 * Reports an error nobody listens for, instead of dropping it: a process warning
 * in Node, `console.error` elsewhere. (eventemitter3 ignores an unheard `'error'`.)
 */
export function reportUnhandled(error: unknown, where: string): void {
  const err = toError(error);
  const proc = (globalThis as { process?: { emitWarning?: (warning: Error) => void } }).process;
  if (proc?.emitWarning) {
    const warning = new PocketMQError('ERR_UNHANDLED_ERROR', `pocketmq: unhandled error in ${where}: ${err.message}`, { cause: err });
    warning.name = err.name;
    proc.emitWarning(warning);
  } else {
    console.error(`pocketmq: unhandled error in ${where}:`, err);
  }
}

/** Something with `'error'` events: a Queue, Topic or RequestReply. */
interface ErrorEmitter {
  listenerCount(event: 'error'): number;
  emit(event: 'error', error: Error): boolean;
}

/** Emits `error` as an `'error'` event, or, when nobody listens, reports it with {@link reportUnhandled} (`where` names the emitter). */
export function reportError(emitter: ErrorEmitter, error: unknown, where: string): void {
  const err = toError(error);
  if (emitter.listenerCount('error') > 0) emitter.emit('error', err);
  else reportUnhandled(err, where);
}

/** Turns anything thrown into an Error, keeping Errors as they are. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  const error = new PocketMQError('ERR_NON_ERROR_THROWN', typeof value === 'string' ? value : `Non-error value thrown: ${safeString(value)}`);
  // Named as the plain Error it stands for: a RemoteError's remoteName says 'Error' for a thrown non-Error.
  error.name = 'Error';
  return error;
}

function safeString(value: unknown): string {
  try {
    return typeof value === 'object' ? JSON.stringify(value) : String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
