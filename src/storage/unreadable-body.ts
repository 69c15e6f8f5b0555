/**
 * The placeholder body of a message whose stored body a storage's codecs could not read.
 * Core-safe (no Node API): the Queue layer recognises it on every storage.
 */
import { BadSignatureError, type UndecryptableError } from '../errors.js';

/** Marks an UnreadableBody of any copy of the library (ESM and CommonJS builds). */
const UNREADABLE = Symbol.for('pocketmq.unreadableBody');

/** Why a message whose body could not be read is dead-lettered. */
export type UnreadableReason = 'undecryptable' | 'bad-signature';

/**
 * Stands for a stored body that the storage's codecs could not decode: a message
 * carrying it is dead-lettered with reason {@link UnreadableBody.reason} when claimed,
 * never handed to a handler, and `queue.peek()` lists it with this as its body. The
 * storage keeps the stored bytes as they were, so a copy in a dead-letter queue can be
 * read once the missing key is configured.
 */
export class UnreadableBody {
  /** @internal */
  readonly [UNREADABLE] = true;
  /** `'undecryptable'`, or `'bad-signature'` when a signature did not verify. */
  readonly reason: UnreadableReason;
  /** What went wrong, as the queue's `'error'` event reports it. */
  readonly error: UndecryptableError;
  /** @internal The body as the storage holds it, written back unchanged. */
  readonly stored: string;
  /** @internal Whether {@link UnreadableBody.stored} is codec output (or a plain JSON body). */
  readonly sealed: boolean;

  /** @internal */
  constructor(error: UndecryptableError, stored: string, sealed: boolean) {
    this.reason = error instanceof BadSignatureError ? 'bad-signature' : 'undecryptable';
    this.error = error;
    this.stored = stored;
    this.sealed = sealed;
  }

  /** What JSON and logs show instead of the body. */
  toJSON(): { unreadable: UnreadableReason; error: string } {
    return { unreadable: this.reason, error: this.error.message };
  }
}

/** True for a body the storage could not read (an {@link UnreadableBody} of this or another copy of the library). */
export function isUnreadable(body: unknown): body is UnreadableBody {
  return typeof body === 'object' && body !== null && (body as { [UNREADABLE]?: unknown })[UNREADABLE] === true;
}
