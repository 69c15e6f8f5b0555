/**
 * The codec seam of the storages that keep bytes (FileStorage, RedisStorage): what a
 * codec is, and the chain of codecs a storage runs every stored body through.
 */
import { UndecryptableError } from '../errors.js';
import { expected } from '../validate.js';
import { UnreadableBody } from './unreadable-body.js';

/**
 * What a stored body is bound to. A codec must make a body written for one context
 * fail to decode under another (encryption binds it as associated data, a signature
 * covers it), so a body cannot be moved to another message.
 *
 * Only what stays with a body for its whole life is here: a message keeps its id
 * through dead-lettering and redrive, while its queue, headers, attempt count and
 * times change, so none of those is bound.
 */
export interface CodecContext {
  /** `'message'` for a message's body, `'schedule'` for the body a schedule sends. */
  readonly kind: 'message' | 'schedule';
  /** The message's id, or the schedule's id. */
  readonly id: string;
  /** The schedule's queue (a schedule id is unique per queue only); `undefined` for a message. */
  readonly queue: string | undefined;
}

/**
 * Transforms every body a FileStorage or RedisStorage stores (`options.codec`): the
 * body's JSON text as UTF-8 bytes goes through `encode` before it is written, and the
 * stored bytes through `decode` when read back. `pocketmq/crypto` has two:
 * `encryption()` and `signing()`. Both methods are synchronous and must not keep state
 * between calls.
 *
 * `decode` throws when the bytes are not what `encode` made for this context:
 * an `UndecryptableError` (or a `BadSignatureError`) from `pocketmq` names the reason
 * the message is dead-lettered with; any other error counts as `'undecryptable'`.
 */
export interface Codec {
  /** Names the codec in error messages, e.g. `'aes-256-gcm'`. */
  readonly name: string;
  /**
   * True when `encode` always throws (a signing codec given only public keys): such a
   * codec suits a RedisStorage that only consumes. FileStorage refuses it, because it
   * writes bodies again when it compacts its log.
   */
  readonly decodeOnly?: boolean | undefined;
  /** The bytes to store for `data` (never empty), bound to `context`. */
  encode(data: Uint8Array, context: CodecContext): Uint8Array;
  /** The bytes `encode` was given, or throws when `data` was not made by `encode` for `context`. */
  decode(data: Uint8Array, context: CodecContext): Uint8Array;
}

/** `options.codec` as a storage keeps it: a non-empty list, or `undefined` for none. */
export function checkCodecs(argument: string, value: unknown): readonly Codec[] | undefined {
  if (value === undefined) return undefined;
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) return undefined;
  list.forEach((codec: unknown, i) => {
    const name = Array.isArray(value) ? `${argument}[${i}]` : argument;
    const c = codec as Partial<Codec> | null;
    if (typeof c !== 'object' || c === null || typeof c.encode !== 'function' || typeof c.decode !== 'function' || typeof c.name !== 'string') {
      throw expected(name, 'a codec (an object with name, encode and decode, such as encryption() or signing() from pocketmq/crypto)', codec);
    }
  });
  return Object.freeze([...(list as Codec[])]);
}

/** How error messages name the body of `context`: `message "id"`, or `schedule "id" of queue "q"`. */
export function subjectOf(context: CodecContext): string {
  return context.kind === 'message' ? `message "${context.id}"` : `schedule "${context.id}" of queue "${context.queue}"`;
}

const utf8 = new TextEncoder();
/** Not fatal: a codec that passed the bytes vouched for them, and JSON.parse refuses what is not JSON. */
const fromUtf8 = new TextDecoder();

/** Runs a storage's codecs: in order on write, in reverse on read. */
export class CodecChain {
  readonly codecs: readonly Codec[];

  constructor(codecs: readonly Codec[]) {
    this.codecs = codecs;
  }

  /** The stored bytes of a body's JSON text (`''` for `undefined`). */
  encode(text: string, context: CodecContext): Uint8Array {
    let data: Uint8Array = utf8.encode(text);
    for (const codec of this.codecs) data = codec.encode(data, context);
    return data;
  }

  /** The JSON text back from stored bytes; throws an {@link UndecryptableError} (or {@link BadSignatureError}) when a codec refuses them. */
  decode(data: Uint8Array, context: CodecContext): string {
    let bytes = data;
    for (let i = this.codecs.length - 1; i >= 0; i--) {
      const codec = this.codecs[i]!;
      try {
        bytes = codec.decode(bytes, context);
      } catch (error) {
        if (error instanceof UndecryptableError) throw error;
        const detail = error instanceof Error ? error.message : String(error);
        throw new UndecryptableError(context.id, `The body of ${subjectOf(context)} could not be decoded by codec "${codec.name}": ${detail}`, { cause: error });
      }
    }
    return fromUtf8.decode(bytes);
  }

  /**
   * The body a stored form stands for: `decodeText` of the chain's output, or an
   * {@link UnreadableBody} keeping `stored` when the codecs or the JSON refuse it.
   */
  read(data: Uint8Array, context: CodecContext, stored: string, sealed: boolean, decodeText: (text: string) => unknown): unknown {
    let text: string;
    try {
      text = this.decode(data, context);
    } catch (error) {
      return new UnreadableBody(error as UndecryptableError, stored, sealed);
    }
    try {
      return decodeText(text);
    } catch (error) {
      const failure = new UndecryptableError(context.id, `The body of ${subjectOf(context)} was decoded but is not JSON: ${(error as Error).message}`, { cause: error });
      return new UnreadableBody(failure, stored, sealed);
    }
  }
}

/**
 * An `UnreadableBody` for a body stored by codecs that this storage does not have
 * (it was written with `options.codec` and opened without).
 */
export function sealedWithoutCodec(context: CodecContext, stored: string): UnreadableBody {
  const error = new UndecryptableError(context.id, `The body of ${subjectOf(context)} was stored by a codec (options.codec), and this storage has none`);
  return new UnreadableBody(error, stored, true);
}
