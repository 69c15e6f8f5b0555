/**
 * How a body is kept in Redis: its JSON text, or, with `options.codec`, `~` and the
 * codecs' bytes in base64 (no JSON text starts with `~`). A body that could not be read is
 * written back as it was stored, so a dead-letter copy or a redriven message keeps its bytes.
 */
import { decodeBody, encodeBody } from '../codec.js';
import { type CodecChain, type CodecContext, sealedWithoutCodec } from '../storage/body-codec.js';
import type { StoredMessage } from '../storage/storage.js';
import { isUnreadable } from '../storage/unreadable-body.js';

const SEALED = '~';

export class BodyLines {
  readonly #chain: CodecChain | undefined;
  /** With codecs: each listed message's stored body, so a redrive moves the bytes as they are. */
  readonly #stored = new WeakMap<StoredMessage, string>();

  constructor(chain: CodecChain | undefined) {
    this.#chain = chain;
  }

  /** The stored text of `body` (`json`, its JSON text, when already made). Throws what encoding or a codec throws. */
  text(body: unknown, context: CodecContext, json?: string): string {
    if (isUnreadable(body)) return body.stored;
    const text = json ?? encodeBody(body);
    const chain = this.#chain;
    if (chain === undefined) return text;
    return SEALED + Buffer.from(chain.encode(text, context)).toString('base64');
  }

  /** The body of a stored text: decoded, or an `UnreadableBody` keeping it. */
  read(stored: string, context: CodecContext): unknown {
    const chain = this.#chain;
    const sealed = stored.startsWith(SEALED);
    if (chain === undefined) return sealed ? sealedWithoutCodec(context, stored) : decodeBody(stored);
    // A plain body where every body should be sealed: written before the codec was set, or by someone without the keys.
    const bytes = sealed ? Buffer.from(stored.slice(1), 'base64') : Buffer.from(stored, 'utf8');
    return chain.read(bytes, context, stored, sealed, decodeBody);
  }

  /** Remembers the stored body text of a listed message (only with codecs: plain text is re-made at no cost). */
  remember(message: StoredMessage, stored: string): void {
    if (this.#chain !== undefined) this.#stored.set(message, stored);
  }

  /** The stored body text of a message this decoded, if remembered. */
  storedOf(message: StoredMessage): string | undefined {
    return this.#stored.get(message);
  }
}

/** Bodies as plain JSON: a storage without codecs. */
export const PLAIN_LINES = new BodyLines(undefined);

/** The context of a message's body. */
export function messageContext(id: string): CodecContext {
  return { kind: 'message', id, queue: undefined };
}
