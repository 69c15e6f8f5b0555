import type { KeyObject } from 'node:crypto';
import { describe, expectTypeOf, it } from 'vitest';
import { encryption, type EncryptionOptions, signing, type SigningOptions } from '../src/crypto.js';
import { FileStorage, type FileStorageOptions } from '../src/file.js';
import type { Codec, CodecContext } from '../src/index.js';
import type { RedisStorageOptions } from '../src/redis.js';

declare const key: Uint8Array;
declare const privateKey: KeyObject;

describe('pocketmq/crypto types', () => {
  it('encryption() and signing() make Codecs that both storages take, alone or in a list', () => {
    expectTypeOf(encryption({ keys: { k1: key }, current: 'k1' })).toEqualTypeOf<Codec>();
    expectTypeOf(signing({ id: 'a', privateKey })).toEqualTypeOf<Codec>();
    expectTypeOf<Codec>().toMatchTypeOf<NonNullable<FileStorageOptions['codec']>>();
    expectTypeOf<Codec[]>().toMatchTypeOf<NonNullable<FileStorageOptions['codec']>>();
    expectTypeOf<readonly Codec[]>().toMatchTypeOf<NonNullable<RedisStorageOptions['codec']>>();
    expectTypeOf<EncryptionOptions['keys']>().toEqualTypeOf<Readonly<Record<string, Uint8Array | KeyObject>>>();
    expectTypeOf<SigningOptions['publicKeys']>().toEqualTypeOf<Readonly<Record<string, KeyObject>> | undefined>();
    expectTypeOf<Parameters<Codec['decode']>>().toEqualTypeOf<[Uint8Array, CodecContext]>();
  });

  it('refuses what is not a codec, and encryption options without current', () => {
    // @ts-expect-error a string is not a codec
    new FileStorage({ dir: '.', codec: 'aes' });
    // @ts-expect-error current is required
    encryption({ keys: { k1: key } });
  });
});
