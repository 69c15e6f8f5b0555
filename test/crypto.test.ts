/**
 * The codecs of pocketmq/crypto on their own: envelopes, keys, rotation, tampering and
 * binding. test/crypto-storage.test.ts proves the same properties through the storages.
 */
import { createSecretKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encryption, ENVELOPE_VERSION, signing } from '../src/crypto.js';
import { BadSignatureError, InvalidArgumentError, OutOfRangeError, PocketMQError, UndecryptableError } from '../src/errors.js';
import { CodecChain, type CodecContext } from '../src/storage/body-codec.js';
import { isUnreadable, UnreadableBody } from '../src/storage/unreadable-body.js';

const text = (s: string) => new TextEncoder().encode(s);
const read = (b: Uint8Array) => new TextDecoder().decode(b);
const ctx = (id: string): CodecContext => ({ kind: 'message', id, queue: undefined });
const MARKER = 'marker-4f1c9e';
const ed25519 = () => generateKeyPairSync('ed25519');

/** The key id an envelope names (byte 2 is its length, the id follows). */
function keyIdOf(envelope: Uint8Array): string {
  return read(envelope.subarray(3, 3 + envelope[2]!));
}

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('encryption()', () => {
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);

  it('encode() - gives ciphertext that decode() turns back, a fresh nonce each time', () => {
    const codec = encryption({ keys: { k1 }, current: 'k1' });
    const a = codec.encode(text(MARKER), ctx('m1'));
    const b = codec.encode(text(MARKER), ctx('m1'));
    expect(Buffer.from(a).includes(MARKER)).toBe(false);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    // Same length, different nonce: bytes 5..17 (after version, type, id length and "k1").
    expect(Buffer.from(a.subarray(5, 17)).equals(Buffer.from(b.subarray(5, 17)))).toBe(false);
    expect(read(codec.decode(a, ctx('m1')))).toBe(MARKER);
    expect(a[0]).toBe(ENVELOPE_VERSION);
    expect(keyIdOf(a)).toBe('k1');
    // version, type, id length, "k1", nonce, ciphertext, tag
    expect(a.length).toBe(3 + 2 + 12 + MARKER.length + 16);
  });

  it('decode() - refuses every single flipped byte of a body', () => {
    const codec = encryption({ keys: { k1 }, current: 'k1' });
    const sealed = codec.encode(text(MARKER), ctx('m1'));
    for (let i = 0; i < sealed.length; i++) {
      const changed = Uint8Array.from(sealed);
      changed[i]! ^= 0x01;
      expect(() => codec.decode(changed, ctx('m1')), `byte ${i}`).toThrow(UndecryptableError);
    }
  });

  it('decode() - refuses a body moved to another message id or to a schedule', () => {
    const codec = encryption({ keys: { k1 }, current: 'k1' });
    const sealed = codec.encode(text(MARKER), ctx('m1'));
    expect(() => codec.decode(sealed, ctx('m2'))).toThrow('it was changed, or it belongs to another message');
    expect(() => codec.decode(sealed, { kind: 'schedule', id: 'm1', queue: 'q' })).toThrow(UndecryptableError);
    const scheduled = codec.encode(text(MARKER), { kind: 'schedule', id: 's', queue: 'a' });
    expect(() => codec.decode(scheduled, { kind: 'schedule', id: 's', queue: 'b' })).toThrow(UndecryptableError);
  });

  it('rotation - old keys decrypt, current encrypts; a key left out cannot decrypt', () => {
    const old = encryption({ keys: { k1 }, current: 'k1' }).encode(text(MARKER), ctx('m1'));
    const rotated = encryption({ keys: { k2, k1 }, current: 'k2' });
    expect(read(rotated.decode(old, ctx('m1')))).toBe(MARKER);
    expect(keyIdOf(rotated.encode(text(MARKER), ctx('m2')))).toBe('k2');
    const error = thrown(() => encryption({ keys: { k2 }, current: 'k2' }).decode(old, ctx('m1')));
    expect(error).toBeInstanceOf(UndecryptableError);
    expect((error as UndecryptableError).code).toBe('ERR_UNDECRYPTABLE');
    expect((error as Error).message).toBe('The body of message "m1" was encrypted with key "k1", which is not in options.keys');
  });

  it('a key of the same id but other bytes does not decrypt', () => {
    const sealed = encryption({ keys: { k1 }, current: 'k1' }).encode(text(MARKER), ctx('m1'));
    expect(() => encryption({ keys: { k1: k2 }, current: 'k1' }).decode(sealed, ctx('m1'))).toThrow('does not decrypt with key "k1"');
  });

  it('accepts a 32-byte secret KeyObject, and keeps a copy of a Uint8Array key', () => {
    const bytes = Uint8Array.from(k1);
    const fromArray = encryption({ keys: { k1: bytes }, current: 'k1' });
    bytes.fill(0);
    const sealed = fromArray.encode(text(MARKER), ctx('m1'));
    expect(read(encryption({ keys: { k1: createSecretKey(k1) }, current: 'k1' }).decode(sealed, ctx('m1')))).toBe(MARKER);
  });

  it('decode() - says what a body is when it is not an encrypted one', () => {
    const codec = encryption({ keys: { k1 }, current: 'k1' });
    expect(() => codec.decode(text('{"plain":true}'), ctx('m1'))).toThrow('is not an encrypted pocketmq body: its envelope version is 123');
    const { privateKey } = ed25519();
    const signed = signing({ id: 's', privateKey }).encode(text(MARKER), ctx('m1'));
    expect(() => codec.decode(signed, ctx('m1'))).toThrow('it is signed, not encrypted');
    expect(() => codec.decode(new Uint8Array(0), ctx('m1'))).toThrow('0 bytes long');
  });

  it('rejects a key of the wrong size at construction, naming it', () => {
    const short = thrown(() => encryption({ keys: { k1: randomBytes(16) }, current: 'k1' }));
    expect(short).toBeInstanceOf(OutOfRangeError);
    expect(short).toBeInstanceOf(PocketMQError);
    expect((short as Error).message).toBe('Expected `options.keys["k1"]` to be a key of 32 bytes (AES-256), got a Uint8Array of 16 bytes');
    expect(() => encryption({ keys: { k1: createSecretKey(randomBytes(24)) }, current: 'k1' })).toThrow(
      'Expected `options.keys["k1"]` to be a key of 32 bytes (AES-256), got a secret KeyObject of 24 bytes',
    );
    expect(() => encryption({ keys: { k1: ed25519().privateKey }, current: 'k1' })).toThrow('Expected `options.keys["k1"]` to be a secret KeyObject of 32 bytes');
    expect(() => encryption({ keys: { k1: 'secret' as never }, current: 'k1' })).toThrow('Expected `options.keys["k1"]` to be a 32-byte Uint8Array or a secret KeyObject, got "secret" (string)');
  });

  it('rejects a current key id that is not in keys, and unknown options', () => {
    expect(() => encryption({ keys: { k1 }, current: 'k9' })).toThrow('Expected `options.current` to be the id of a key in options.keys ("k1"), got "k9" (string)');
    expect(() => encryption({ keys: {}, current: 'k1' })).toThrow('(none given)');
    expect(() => encryption({ keys: { k1 }, current: 'k1', algorithm: 'x' } as never)).toThrow('options.algorithm');
    expect(() => encryption({ keys: { ['k'.repeat(256)]: k1 }, current: 'k' })).toThrow(InvalidArgumentError);
  });
});

describe('signing()', () => {
  it('encode() - keeps the body readable and decode() verifies it', () => {
    const { privateKey, publicKey } = ed25519();
    const codec = signing({ id: 'svcA', privateKey, publicKeys: { svcA: publicKey } });
    const signed = codec.encode(text(MARKER), ctx('m1'));
    expect(keyIdOf(signed)).toBe('svcA');
    expect(signed.length).toBe(3 + 4 + 64 + MARKER.length);
    expect(read(codec.decode(signed, ctx('m1')))).toBe(MARKER);
  });

  it('decode() - refuses every single flipped byte, and a body moved to another id', () => {
    const { privateKey } = ed25519();
    const codec = signing({ id: 'svcA', privateKey });
    const signed = codec.encode(text(MARKER), ctx('m1'));
    for (let i = 0; i < signed.length; i++) {
      const changed = Uint8Array.from(signed);
      changed[i]! ^= 0x01;
      expect(() => codec.decode(changed, ctx('m1')), `byte ${i}`).toThrow(BadSignatureError);
    }
    expect(() => codec.decode(signed, ctx('m2'))).toThrow('does not verify with key "svcA"');
  });

  it('decode() - refuses a body re-signed by a key it does not trust, even under a trusted id', () => {
    const trusted = ed25519();
    const consumer = signing({ publicKeys: { svcA: trusted.publicKey } });
    const evil = ed25519();
    const unknown = signing({ id: 'mallory', privateKey: evil.privateKey }).encode(text(MARKER), ctx('m1'));
    const error = thrown(() => consumer.decode(unknown, ctx('m1')));
    expect(error).toBeInstanceOf(BadSignatureError);
    expect(error).toBeInstanceOf(UndecryptableError);
    expect((error as BadSignatureError).code).toBe('ERR_BAD_SIGNATURE');
    expect((error as Error).message).toBe('The body of message "m1" is signed by key "mallory", which is not in options.publicKeys');
    const impostor = signing({ id: 'svcA', privateKey: evil.privateKey }).encode(text(MARKER), ctx('m1'));
    expect(() => consumer.decode(impostor, ctx('m1'))).toThrow('does not verify with key "svcA"');
    expect(() => consumer.decode(text(MARKER), ctx('m1'))).toThrow(BadSignatureError);
  });

  it('a consumer-only codec (publicKeys alone) verifies and refuses to sign', () => {
    const { privateKey, publicKey } = ed25519();
    const signed = signing({ id: 'svcA', privateKey }).encode(text(MARKER), ctx('m1'));
    const consumer = signing({ publicKeys: { svcA: publicKey } });
    expect(consumer.decodeOnly).toBe(true);
    expect(read(consumer.decode(signed, ctx('m1')))).toBe(MARKER);
    expect(() => consumer.encode(text(MARKER), ctx('m2'))).toThrow('this signing() codec was given no `options.privateKey`, so it can only verify');
  });

  it('rejects keys of the wrong kind, a missing id, a mismatched own public key, and no key at all', () => {
    const { privateKey, publicKey } = ed25519();
    const other = ed25519();
    expect(() => signing({ id: 'a', privateKey: publicKey })).toThrow('Expected `options.privateKey` to be an Ed25519 private KeyObject, got a public ed25519 KeyObject');
    expect(() => signing({ id: 'a', privateKey: generateKeyPairSync('x25519').privateKey })).toThrow('got a private x25519 KeyObject');
    expect(() => signing({ id: 'a', privateKey: randomBytes(32) as never })).toThrow('Expected `options.privateKey` to be an Ed25519 private KeyObject');
    expect(() => signing({ privateKey })).toThrow('Expected `options.id` to be a key id of 1 to 255 bytes of UTF-8, got undefined (undefined)');
    expect(() => signing({ id: 'a', publicKeys: { a: publicKey } })).toThrow('Expected `options.id` only with `options.privateKey`');
    expect(() => signing({ id: 'a', privateKey, publicKeys: { a: other.publicKey } })).toThrow('to be the public key of `options.privateKey`');
    expect(() => signing({ publicKeys: { a: privateKey } })).toThrow('Expected `options.publicKeys["a"]` to be an Ed25519 public KeyObject');
    expect(() => signing({})).toThrow('Expected `options.privateKey` or `options.publicKeys`');
  });
});

describe('[signing(), encryption()] as a chain', () => {
  it('signs the plaintext, then encrypts: nothing readable is stored, and it reads back', () => {
    const { privateKey } = ed25519();
    const chain = new CodecChain([signing({ id: 'svcA', privateKey }), encryption({ keys: { k1: randomBytes(32) }, current: 'k1' })]);
    const stored = chain.encode(MARKER, ctx('m1'));
    expect(Buffer.from(stored).includes(MARKER)).toBe(false);
    expect(keyIdOf(stored)).toBe('k1');
    expect(chain.decode(stored, ctx('m1'))).toBe(MARKER);
  });

  it('names the codec that refused a body when it throws an error of its own', () => {
    const chain = new CodecChain([
      {
        name: 'rot13',
        encode: (data) => data,
        decode: () => {
          throw new TypeError('bad rot');
        },
      },
    ]);
    const error = thrown(() => chain.decode(text('x'), ctx('m1')));
    expect(error).toBeInstanceOf(UndecryptableError);
    expect((error as Error).message).toBe('The body of message "m1" could not be decoded by codec "rot13": bad rot');
  });
});

describe('UnreadableBody', () => {
  it('isUnreadable() - knows a placeholder made by another copy of the library (the ESM and CJS builds), and nothing else', async () => {
    const other = (await import(/* @vite-ignore */ `../src/storage/unreadable-body.js?copy=${Date.now()}`)) as typeof import('../src/storage/unreadable-body.js');
    const body = new other.UnreadableBody(new BadSignatureError('m1', 'forged'), 'stored', true);
    expect(body).not.toBeInstanceOf(UnreadableBody);
    expect(isUnreadable(body)).toBe(true);
    expect(body.reason).toBe('bad-signature');
    expect(isUnreadable({ reason: 'undecryptable', error: new UndecryptableError('m1', 'x') })).toBe(false);
    expect(isUnreadable(null)).toBe(false);
    expect(JSON.stringify({ body })).toBe('{"body":{"unreadable":"bad-signature","error":"forged"}}');
  });
});

