/**
 * `pocketmq/crypto`: codecs for FileStorage and RedisStorage (`options.codec`) that
 * encrypt (AES-256-GCM) and sign (Ed25519) every stored body, with `node:crypto` only.
 * Node only. docs/security.md says what each protects against and what it does not.
 *
 * @module
 */
export { encryption } from './crypto/encryption.js';
export { signing } from './crypto/signing.js';
export { ENVELOPE_VERSION } from './crypto/envelope.js';

export type { EncryptionOptions } from './crypto/encryption.js';
export type { SigningOptions } from './crypto/signing.js';
export type { Codec, CodecContext } from './storage/body-codec.js';
