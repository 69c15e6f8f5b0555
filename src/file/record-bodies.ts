/**
 * How a body is written into a PUT or SCHEDULE record and read back: JSON as it is, or,
 * with `options.codec`, the codecs' bytes as a base64 string in a record of the sealed
 * type (docs/file-format.md). A body that could not be read is written back as it was stored.
 */
import { decodeBody, encodeBody } from '../codec.js';
import { type CodecChain, type CodecContext, sealedWithoutCodec } from '../storage/body-codec.js';
import { isUnreadable } from '../storage/unreadable-body.js';
import { isKey, UnencodableFieldError } from './record-fields.js';

export class RecordBodies {
  readonly #chain: CodecChain | undefined;

  constructor(chain: CodecChain | undefined) {
    this.#chain = chain;
  }

  /** Whether `body` goes into a record of the sealed type. */
  sealed(body: unknown): boolean {
    return isUnreadable(body) ? body.sealed : this.#chain !== undefined;
  }

  /**
   * The record's body element ('' for a plain `undefined`, left out); `json` is the body's
   * JSON text when already made. Throws what encoding or a codec throws.
   */
  text(body: unknown, json: string | undefined, context: CodecContext): string {
    if (isUnreadable(body)) return body.sealed ? JSON.stringify(body.stored) : body.stored;
    const text = json ?? encodeBody(body);
    const chain = this.#chain;
    if (chain === undefined) return text;
    // The codecs bind the id: one replay would refuse must fail here as the record would.
    if (!isKey(context.id)) throw new UnencodableFieldError('id', 'a non-empty string', context.id);
    // Base64 needs no JSON escaping.
    return `"${Buffer.from(chain.encode(text, context)).toString('base64')}"`;
  }

  /** The body of a replayed record: its element (`present` false when left out), decoded. */
  read(element: unknown, present: boolean, sealed: boolean, context: CodecContext): unknown {
    const chain = this.#chain;
    if (sealed) {
      const stored = element as string;
      if (chain === undefined) return sealedWithoutCodec(context, stored);
      return chain.read(Buffer.from(stored, 'base64'), context, stored, true, decodeBody);
    }
    if (chain === undefined) return element;
    // A plain body where every body should be sealed: written before the codec was set, or by someone without the keys.
    const text = present ? JSON.stringify(element) : '';
    return chain.read(Buffer.from(text, 'utf8'), context, text, false, decodeBody);
  }
}

/** Bodies as plain JSON: a storage without codecs. */
export const PLAIN_BODIES = new RecordBodies(undefined);

/** The context of a message's body. */
export function messageContext(id: string): CodecContext {
  return { kind: 'message', id, queue: undefined };
}

/** The context of a schedule's body. */
export function scheduleContext(queue: string, id: string): CodecContext {
  return { kind: 'schedule', id, queue };
}
