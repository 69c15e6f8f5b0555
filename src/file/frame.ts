/**
 * The bytes of FileStorage's files: checksummed, length-prefixed frames, one per
 * batch, so a batch is replayed whole or not at all. See docs/file-format.md.
 */
import { crc32 } from './crc32.js';

/** First bytes of a log segment and of a snapshot: names the file kind and the format version. */
export const SEGMENT_HEADER = Buffer.from('PMQLOG1\n', 'latin1');
export const SNAPSHOT_HEADER = Buffer.from('PMQSNP1\n', 'latin1');
export const FILE_HEADER_SIZE = 8;

/** "PMQB" in little-endian: the start of every frame, so a scan can find frames in garbage. */
const FRAME_MAGIC = 0x42514d50;
export const MAGIC_BYTES = Buffer.from('PMQB', 'latin1');
export const FRAME_HEADER_SIZE = 12;
/** No batch is this large (a single write of 1 GiB would be refused anyway); a larger length is damage. */
const MAX_PAYLOAD = 1 << 30;

/** Frames a payload: magic, payload length, CRC-32 of the length and payload, payload. */
export function encodeFrame(payload: string): Buffer {
  const length = Buffer.byteLength(payload);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_SIZE + length);
  frame.write(payload, FRAME_HEADER_SIZE, 'utf8');
  return sealFrame(frame, 0, frame.length);
}

/**
 * Fills in the frame header at `start` for the payload that follows it up to
 * `end`, in place; returns the frame (a view of `buffer`).
 */
export function sealFrame(buffer: Buffer, start: number, end: number): Buffer {
  const length = end - start - FRAME_HEADER_SIZE;
  buffer.writeUInt32LE(FRAME_MAGIC, start);
  buffer.writeUInt32LE(length, start + 4);
  buffer.writeUInt32LE(frameChecksum(buffer, start + FRAME_HEADER_SIZE, length), start + 8);
  return buffer.subarray(start, end);
}

/** The checksum covers the length field too, so a flipped length bit cannot pass for another frame. */
export function frameChecksum(buf: Buffer, payloadStart: number, length: number): number {
  return crc32(buf.subarray(payloadStart, payloadStart + length), crc32(buf.subarray(payloadStart - 8, payloadStart - 4)));
}

/** The end offset of a valid frame starting at `offset`, or -1. */
export function frameEnd(buf: Buffer, offset: number): number {
  const length = candidateLength(buf, offset);
  if (length < 0) return -1;
  const start = offset + FRAME_HEADER_SIZE;
  if (buf.readUInt32LE(offset + 8) !== frameChecksum(buf, start, length)) return -1;
  return start + length;
}

/** The payload length a frame at `offset` claims, or -1 when it cannot be a frame (checked without its checksum). */
export function candidateLength(buf: Buffer, offset: number): number {
  if (offset + FRAME_HEADER_SIZE > buf.length) return -1;
  if (buf.readUInt32LE(offset) !== FRAME_MAGIC) return -1;
  const length = buf.readUInt32LE(offset + 4);
  if (length === 0 || length > MAX_PAYLOAD || offset + FRAME_HEADER_SIZE + length > buf.length) return -1;
  return length;
}

