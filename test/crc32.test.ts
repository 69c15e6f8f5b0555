import fc from 'fast-check';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, pickCrc32, tableCrc32 } from '../src/file/crc32.js';

describe('CRC-32 of the file log', () => {
  it('tableCrc32 - gives what zlib.crc32 gives, for random bytes and random starting CRCs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2_000 }), fc.nat({ max: 0xffffffff }), (bytes, initial) => {
        expect(tableCrc32(bytes, initial)).toBe(zlibCrc32(bytes, initial));
        expect(tableCrc32(bytes)).toBe(zlibCrc32(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('tableCrc32 - matches the standard check value and continues a CRC across pieces', () => {
    const text = Buffer.from('123456789', 'latin1');
    expect(tableCrc32(text)).toBe(0xcbf43926);
    expect(tableCrc32(text.subarray(4), tableCrc32(text.subarray(0, 4)))).toBe(0xcbf43926);
  });

  it('pickCrc32 - uses zlib.crc32 where Node has it, and the table where it does not (Node < 20.15)', () => {
    expect(pickCrc32(zlibCrc32)).toBe(zlibCrc32);
    expect(pickCrc32(undefined)).toBe(tableCrc32);
    expect(crc32).toBe(zlibCrc32);
  });
});
