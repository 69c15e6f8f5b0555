/**
 * The envelope every `pocketmq/crypto` codec writes around a body: a small versioned
 * header that names the codec's kind and its key, so keys rotate and the format can
 * change without guessing (as JWE's `kid` and the AWS Encryption SDK's header do).
 *
 * Layout (docs/file-format.md, "Encrypted and signed bodies"):
 * `version (1 byte) | type (1 byte) | key id length n (1 byte) | key id (n bytes, UTF-8) | type-specific part`.
 */
import type { CodecContext } from '../storage/body-codec.js';
import { expected } from '../validate.js';

/** The envelope format this version writes and reads. */
export const ENVELOPE_VERSION = 1;

/** The codec that made an envelope. */
export const EnvelopeType = {
  /** AES-256-GCM: `nonce (12 bytes) | ciphertext | tag (16 bytes)`. */
  encrypted: 1,
  /** Ed25519: `signature (64 bytes) | payload`. */
  signed: 2,
} as const;
export type EnvelopeType = (typeof EnvelopeType)[keyof typeof EnvelopeType];

const TYPE_NAMES: Record<number, string> = { 1: 'encrypted', 2: 'signed' };

/** A key id is 1-255 bytes of UTF-8 (its length is one byte of the header). */
export function checkKeyId(argument: string, id: unknown): string {
  if (typeof id !== 'string' || id.length === 0 || Buffer.byteLength(id) > 255) {
    throw expected(argument, 'a key id of 1 to 255 bytes of UTF-8', id);
  }
  return id;
}

/** The header of an envelope of `type` naming `keyId`. */
export function envelopeHeader(type: EnvelopeType, keyId: string): Buffer {
  const id = Buffer.from(keyId, 'utf8');
  const header = Buffer.allocUnsafe(3 + id.length);
  header[0] = ENVELOPE_VERSION;
  header[1] = type;
  header[2] = id.length;
  id.copy(header, 3);
  return header;
}

/** A parsed header: the key id and where the type-specific part starts. */
export interface ParsedEnvelope {
  readonly keyId: string;
  /** The header's bytes, which the codec binds. */
  readonly header: Uint8Array;
  /** Offset of the type-specific part. */
  readonly rest: number;
}

/**
 * Reads the header of an envelope that should be of `type`, or says what the bytes are
 * instead (the codec puts that in its own error).
 */
export function readEnvelope(data: Uint8Array, type: EnvelopeType): ParsedEnvelope | string {
  if (data.length < 4) return `it is ${data.length} bytes long, too short for a pocketmq envelope`;
  if (data[0] !== ENVELOPE_VERSION) return `its envelope version is ${data[0]} (this version of pocketmq reads version ${ENVELOPE_VERSION}), or it is not in an envelope at all`;
  if (data[1] !== type) {
    const found = TYPE_NAMES[data[1]!];
    return found === undefined ? `its envelope type ${data[1]} is unknown` : `it is ${found}, not ${TYPE_NAMES[type]}`;
  }
  const length = data[2]!;
  if (length === 0 || 3 + length > data.length) return 'its key id does not fit in it';
  const header = data.subarray(0, 3 + length);
  return { keyId: Buffer.from(header.buffer, header.byteOffset + 3, length).toString('utf8'), header, rest: 3 + length };
}

/**
 * What a codec binds besides the body: the envelope header (version, type, key id) and
 * the context, each field length-prefixed so that no two contexts share a binding.
 */
export function boundData(header: Uint8Array, context: CodecContext): Buffer {
  const id = Buffer.from(context.id, 'utf8');
  const queue = Buffer.from(context.queue ?? '', 'utf8');
  const out = Buffer.allocUnsafe(header.length + 1 + 4 + id.length + 4 + queue.length);
  let at = out.length - (1 + 4 + id.length + 4 + queue.length);
  out.set(header, 0);
  out[at++] = context.kind === 'message' ? 0 : 1;
  out.writeUInt32BE(id.length, at);
  id.copy(out, at + 4);
  at += 4 + id.length;
  out.writeUInt32BE(queue.length, at);
  queue.copy(out, at + 4);
  return out;
}

