import { createPublicKey, KeyObject, sign, verify } from 'node:crypto';
import { BadSignatureError, InvalidArgumentError } from '../errors.js';
import { type Codec, type CodecContext, subjectOf } from '../storage/body-codec.js';
import { checkKeys, checkObject, expected } from '../validate.js';
import { boundData, checkKeyId, envelopeHeader, EnvelopeType, readEnvelope } from './envelope.js';

/** Options of {@link signing}. */
export interface SigningOptions {
  /** The id of `privateKey` (1-255 bytes of UTF-8), stored beside each signature. Required with `privateKey`. */
  id?: string;
  /** The Ed25519 private key (a `KeyObject`) that signs new bodies. Leave it out in a process that only consumes. */
  privateKey?: KeyObject;
  /**
   * The Ed25519 public keys (`KeyObject`s) whose signatures are trusted, by id. The public
   * key of `privateKey` is added under `id` when missing. Keep a retired signer's key
   * here until no body it signed remains.
   */
  publicKeys?: Readonly<Record<string, KeyObject>>;
}

const SIGNATURE_BYTES = 64;

function checkEd25519(argument: string, key: unknown, type: 'private' | 'public'): KeyObject {
  if (!(key instanceof KeyObject) || key.type !== type || key.asymmetricKeyType !== 'ed25519') {
    const got = key instanceof KeyObject ? `a ${key.type} ${key.asymmetricKeyType ?? ''} KeyObject`.replace('  ', ' ') : undefined;
    if (got !== undefined) throw new InvalidArgumentError(argument, `Expected \`${argument}\` to be an Ed25519 ${type} KeyObject, got ${got}`);
    throw expected(argument, `an Ed25519 ${type} KeyObject (crypto.generateKeyPairSync('ed25519') or createPrivateKey / createPublicKey)`, key);
  }
  return key;
}

/**
 * A codec that signs every stored body with Ed25519 (`options.codec` of FileStorage and
 * RedisStorage) and refuses, when reading, a body whose signature does not verify with
 * one of `publicKeys`: such a message is dead-lettered with reason `'bad-signature'` and
 * never handed to a handler. Someone who can write the file or the Redis keys cannot
 * forge a message a handler will trust without a private key.
 *
 * The signature covers the body, the envelope's version and key id, and the message id
 * (which a message keeps through dead-lettering and redrive). It does not cover headers,
 * priority, group, subject or correlation id, which routing and dead-lettering change:
 * put what must be trusted in the body. It does not stop a stored message being deleted,
 * or replayed under its own id.
 *
 * Combine with {@link encryption} as `codec: [signing(...), encryption(...)]`: the
 * plaintext is signed, then encrypted.
 *
 * ```ts
 * const producer = signing({ id: 'svcA', privateKey, publicKeys: { svcA: publicKey } });
 * const consumerOnly = signing({ publicKeys: { svcA: publicKey } }); // verifies, cannot send
 * ```
 *
 * @param options The signing key and its id, and the trusted public keys by id.
 * @throws `TypeError` naming the option when a key is not an Ed25519 KeyObject of the right type, or no key is given.
 */
export function signing(options: SigningOptions): Codec {
  const o = checkObject('options', options);
  checkKeys('options', o, ['id', 'privateKey', 'publicKeys']);
  const trusted = new Map<string, KeyObject>();
  if (o.publicKeys !== undefined) {
    const given = checkObject('options.publicKeys', o.publicKeys);
    for (const id of Object.keys(given)) {
      checkKeyId(`options.publicKeys["${id}"] (its id)`, id);
      trusted.set(id, checkEd25519(`options.publicKeys["${id}"]`, given[id], 'public'));
    }
  }
  let privateKey: KeyObject | undefined;
  let header: Buffer | undefined;
  if (o.privateKey !== undefined) {
    privateKey = checkEd25519('options.privateKey', o.privateKey, 'private');
    const id = checkKeyId('options.id', o.id);
    header = envelopeHeader(EnvelopeType.signed, id);
    const own = createPublicKey(privateKey);
    const listed = trusted.get(id);
    if (listed === undefined) trusted.set(id, own);
    else if (!listed.equals(own)) {
      throw new InvalidArgumentError('options.publicKeys', `Expected \`options.publicKeys["${id}"]\` to be the public key of \`options.privateKey\` (both have id "${id}"), got another key`);
    }
  } else if (o.id !== undefined) {
    throw new InvalidArgumentError('options.id', 'Expected `options.id` only with `options.privateKey` (it names the signing key), got an id without a key');
  }
  if (trusted.size === 0) throw new InvalidArgumentError('options.publicKeys', 'Expected `options.privateKey` or `options.publicKeys` (at least one Ed25519 key), got neither');

  return Object.freeze({
    name: 'ed25519',
    decodeOnly: privateKey === undefined,
    encode(data: Uint8Array, context: CodecContext): Uint8Array {
      if (privateKey === undefined || header === undefined) {
        throw new InvalidArgumentError('options.privateKey', `Cannot sign the body of ${subjectOf(context)}: this signing() codec was given no \`options.privateKey\`, so it can only verify`);
      }
      const signature = sign(null, Buffer.concat([boundData(header, context), data]), privateKey);
      return Buffer.concat([header, signature, data]);
    },
    decode(data: Uint8Array, context: CodecContext): Uint8Array {
      const envelope = readEnvelope(data, EnvelopeType.signed);
      if (typeof envelope === 'string') throw new BadSignatureError(context.id, `The body of ${subjectOf(context)} is not a signed pocketmq body: ${envelope}`);
      const key = trusted.get(envelope.keyId);
      if (key === undefined) {
        throw new BadSignatureError(context.id, `The body of ${subjectOf(context)} is signed by key "${envelope.keyId}", which is not in options.publicKeys`);
      }
      const payloadAt = envelope.rest + SIGNATURE_BYTES;
      if (data.length < payloadAt) throw new BadSignatureError(context.id, `The body of ${subjectOf(context)} is too short to hold a signature`);
      const payload = data.subarray(payloadAt);
      const signed = Buffer.concat([boundData(envelope.header, context), payload]);
      if (!verify(null, signed, key, data.subarray(envelope.rest, payloadAt))) {
        throw new BadSignatureError(context.id, `The signature of the body of ${subjectOf(context)} does not verify with key "${envelope.keyId}": it was changed, or it belongs to another message`);
      }
      return payload;
    },
  });
}
