/**
 * CRC-32 (IEEE, as zlib and gzip compute it) for the file log's frames. `zlib.crc32`
 * exists only from Node 20.15 (and 22.2); on older 20.x the table-driven version below
 * gives the same values, so `engines` can stay `>=20`.
 */
import * as zlib from 'node:zlib';

/** CRC-32 of `data`, continuing from `initial` (the CRC of the bytes before it). */
export type Crc32 = (data: Uint8Array, initial?: number) => number;

let table: Uint32Array | undefined;

function crcTable(): Uint32Array {
  if (table) return table;
  table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** The portable CRC-32: one table lookup per byte, several times slower than zlib's. */
export const tableCrc32: Crc32 = (data, initial = 0) => {
  const t = crcTable();
  let c = ~initial >>> 0;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
};

/** zlib's CRC-32 where the running Node has it, else {@link tableCrc32}. */
export function pickCrc32(native: Crc32 | undefined): Crc32 {
  return typeof native === 'function' ? native : tableCrc32;
}

/**
 * Read from the namespace rather than imported by name: a named import of an export
 * that Node lacks fails the whole module at load, in the ESM build.
 */
export const crc32: Crc32 = pickCrc32((zlib as { crc32?: Crc32 }).crc32);
