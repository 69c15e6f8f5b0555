import { createCipheriv, createDecipheriv, createSecretKey, KeyObject, randomBytes } from 'node:crypto';
import { InvalidArgumentError, OutOfRangeError, UndecryptableError } from '../errors.js';
import { type Codec, type CodecContext, subjectOf } from '../storage/body-codec.js';
import { checkKeys, checkObject, expected } from '../validate.js';
import { boundData, checkKeyId, envelopeHeader, EnvelopeType, readEnvelope } from './envelope.js';

/** Options of {@link encryption}. */
export interface EncryptionOptions {
  /**
   * Every key that may have encrypted a stored body, by key id (1-255 bytes of UTF-8,
   * stored beside each body). Each key is 32 bytes: a `Uint8Array` (copied) or a secret
   * `KeyObject` (`crypto.createSecretKey`). Keep old keys here until no body encrypted
   * with them remains.
   */
  keys: Readonly<Record<string, Uint8Array | KeyObject>>;
  /** The id of the key in `keys` that encrypts new bodies. */
  current: string;
}

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

function wrongSize(argument: string, got: string): OutOfRangeError {
  return new OutOfRangeError(argument, `Expected \`${argument}\` to be a key of ${KEY_BYTES} bytes (AES-256), got ${got}`);
}

/** A 32-byte AES key as a secret KeyObject, or an error naming `argument`. */
function secretKey(argument: string, key: unknown): KeyObject {
  if (key instanceof KeyObject) {
    if (key.type !== 'secret') throw new InvalidArgumentError(argument, `Expected \`${argument}\` to be a secret KeyObject of ${KEY_BYTES} bytes (crypto.createSecretKey), got a ${key.type} KeyObject`);
    if (key.symmetricKeySize !== KEY_BYTES) throw wrongSize(argument, `a secret KeyObject of ${key.symmetricKeySize} bytes`);
    return key;
  }
  if (!(key instanceof Uint8Array)) throw expected(argument, `a ${KEY_BYTES}-byte Uint8Array or a secret KeyObject`, key);
  if (key.length !== KEY_BYTES) throw wrongSize(argument, `a Uint8Array of ${key.length} bytes`);
  // Copied: a caller that later zeroes or reuses its array must not change the key.
  return createSecretKey(Buffer.from(key));
}

/**
 * A codec that encrypts every stored body with AES-256-GCM (`options.codec` of
 * FileStorage and RedisStorage), so bodies are ciphertext in the file log, its
 * snapshots and Redis, dead-letter copies included.
 *
 * Each body gets a fresh random 96-bit nonce. The stored envelope names the key id, so
 * keys rotate: `current` encrypts, every key in `keys` decrypts. The associated data
 * binds the envelope's version and key id and the message id (which a message keeps
 * through dead-lettering and redrive), so a body copied onto another message does not
 * decrypt. A body that does not decrypt is dead-lettered with reason `'undecryptable'`.
 *
 * Queue names, headers, ids, priorities, sizes and timing are not encrypted:
 * docs/security.md says what this protects against and what it does not.
 *
 * ```ts
 * import { encryption } from 'pocketmq/crypto';
 * const storage = new FileStorage({ dir, codec: encryption({ keys: { k2: key2, k1: key1 }, current: 'k2' }) });
 * ```
 *
 * @param options The keys by id, and which one encrypts.
 * @throws `TypeError`/`RangeError` naming the option when a key is not 32 bytes or `current` is not in `keys`.
 */
export function encryption(options: EncryptionOptions): Codec {
  const o = checkObject('options', options);
  checkKeys('options', o, ['keys', 'current']);
  const given = checkObject('options.keys', o.keys);
  const keys = new Map<string, KeyObject>();
  for (const id of Object.keys(given)) {
    checkKeyId(`options.keys["${id}"] (its id)`, id);
    keys.set(id, secretKey(`options.keys["${id}"]`, given[id]));
  }
  const current = checkKeyId('options.current', o.current);
  const currentKey = keys.get(current);
  if (currentKey === undefined) throw expected('options.current', `the id of a key in options.keys (${[...keys.keys()].map((k) => `"${k}"`).join(', ') || 'none given'})`, current);
  const header = envelopeHeader(EnvelopeType.encrypted, current);

  return Object.freeze({
    name: 'aes-256-gcm',
    encode(data: Uint8Array, context: CodecContext): Uint8Array {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', currentKey, nonce);
      cipher.setAAD(boundData(header, context));
      const head = cipher.update(data);
      const tail = cipher.final();
      return Buffer.concat([header, nonce, head, tail, cipher.getAuthTag()]);
    },
    decode(data: Uint8Array, context: CodecContext): Uint8Array {
      const envelope = readEnvelope(data, EnvelopeType.encrypted);
      if (typeof envelope === 'string') throw new UndecryptableError(context.id, `The body of ${subjectOf(context)} is not an encrypted pocketmq body: ${envelope}`);
      const key = keys.get(envelope.keyId);
      if (key === undefined) {
        throw new UndecryptableError(context.id, `The body of ${subjectOf(context)} was encrypted with key "${envelope.keyId}", which is not in options.keys`);
      }
      if (data.length < envelope.rest + NONCE_BYTES + TAG_BYTES) {
        throw new UndecryptableError(context.id, `The body of ${subjectOf(context)} is too short to hold a nonce and a tag`);
      }
      const nonce = data.subarray(envelope.rest, envelope.rest + NONCE_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', key, nonce);
      decipher.setAAD(boundData(envelope.header, context));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      try {
        const head = decipher.update(data.subarray(envelope.rest + NONCE_BYTES, data.length - TAG_BYTES));
        return Buffer.concat([head, decipher.final()]);
      } catch (error) {
        throw new UndecryptableError(
          context.id,
          `The body of ${subjectOf(context)} does not decrypt with key "${envelope.keyId}": it was changed, or it belongs to another message`,
          { cause: error },
        );
      }
    },
  });
}
