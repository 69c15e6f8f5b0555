/**
 * The bytes of FileStorage's files: checksummed, length-prefixed frames, one per
 * batch, so a batch is replayed whole or not at all. See docs/file-format.md.
 */
import * as fs from 'node:fs';
import { crc32 } from './crc32.js';

/** First bytes of a log segment and of a snapshot: names the file kind and the format version. */
export const SEGMENT_HEADER = Buffer.from('PMQLOG1\n', 'latin1');
export const SNAPSHOT_HEADER = Buffer.from('PMQSNP1\n', 'latin1');
export const FILE_HEADER_SIZE = 8;

/** "PMQB" in little-endian: the start of every frame, so a scan can find frames in garbage. */
const FRAME_MAGIC = 0x42514d50;
const MAGIC_BYTES = Buffer.from('PMQB', 'latin1');
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
function frameChecksum(buf: Buffer, payloadStart: number, length: number): number {
  return crc32(buf.subarray(payloadStart, payloadStart + length), crc32(buf.subarray(payloadStart - 8, payloadStart - 4)));
}

/** The end offset of a valid frame starting at `offset`, or -1. */
export function frameEnd(buf: Buffer, offset: number): number {
  if (offset + FRAME_HEADER_SIZE > buf.length) return -1;
  if (buf.readUInt32LE(offset) !== FRAME_MAGIC) return -1;
  const length = buf.readUInt32LE(offset + 4);
  if (length === 0 || length > MAX_PAYLOAD) return -1;
  const start = offset + FRAME_HEADER_SIZE;
  if (start + length > buf.length) return -1;
  if (buf.readUInt32LE(offset + 8) !== frameChecksum(buf, start, length)) return -1;
  return start + length;
}

/** What {@link scanFrames} found after the last good frame. */
export interface ScanResult {
  /** Offset just after the last good frame: where the good data ends. */
  readonly end: number;
  /**
   * `'clean'`: the file ends there. `'tail'`: bytes follow that hold no good frame
   * (a torn or garbage tail). `'damaged'`: a good frame follows the bad bytes, so the
   * damage is before the tail.
   */
  readonly state: 'clean' | 'tail' | 'damaged';
  /** Good frames found after the damage (only for `'damaged'`). */
  readonly framesAfter: number;
}

/**
 * Calls `onFrame` for each good frame from `offset` on, and tells how the good
 * data ends. Stops at the first bad frame: nothing after it is replayed.
 */
export function scanFrames(buf: Buffer, offset: number, onFrame: (payload: Buffer, offset: number) => void): ScanResult {
  let at = offset;
  for (;;) {
    if (at === buf.length) return { end: at, state: 'clean', framesAfter: 0 };
    const end = frameEnd(buf, at);
    if (end < 0) break;
    onFrame(buf.subarray(at + FRAME_HEADER_SIZE, end), at);
    at = end;
  }
  const framesAfter = countFramesAfter(buf, at + 1);
  return { end: at, state: framesAfter > 0 ? 'damaged' : 'tail', framesAfter };
}

/** Counts good frames anywhere from `from` on, looking for the magic at every byte. */
function countFramesAfter(buf: Buffer, from: number): number {
  let count = 0;
  for (let at = buf.indexOf(MAGIC_BYTES, from); at >= 0; ) {
    const end = frameEnd(buf, at);
    if (end >= 0) {
      count++;
      at = buf.indexOf(MAGIC_BYTES, end);
    } else {
      at = buf.indexOf(MAGIC_BYTES, at + 1);
    }
  }
  return count;
}

// ------------------------------------------------------------------------- I/O

/**
 * The file operations the writer uses, so tests can make them fail, write short or
 * be slow. Everything else (reading at open, listing, renaming) uses node:fs directly.
 * Writes are synchronous: a batch goes to the OS page cache in a few microseconds,
 * less than a trip through libuv's thread pool costs.
 */
export interface FileIo {
  write(fd: number, buffer: Buffer, offset: number, length: number, position: number): number;
  /** fsync on a thread-pool thread: the event loop runs on while the disk works. */
  fsync(fd: number): Promise<void>;
  /** fsync on the calling thread: no hand-off to and from the thread pool, but the event loop waits for the disk. */
  fsyncSync(fd: number): void;
  /** A stopwatch in ms, to time fsyncs with. */
  now(): number;
}

export const nodeIo: FileIo = {
  write: (fd, buffer, offset, length, position) => fs.writeSync(fd, buffer, offset, length, position),
  fsync: (fd) => new Promise((resolve, reject) => fs.fsync(fd, (error) => (error ? reject(error) : resolve()))),
  fsyncSync: (fd) => fs.fsyncSync(fd),
  now: () => performance.now(),
};

/** Writes all of `buffer` at `position`, going on after short writes. */
export function writeFully(io: FileIo, fd: number, buffer: Buffer, position: number): void {
  let done = 0;
  while (done < buffer.length) {
    const written = io.write(fd, buffer, done, buffer.length - done, position + done);
    // A write that makes no progress would loop forever; a full disk shows up this way on some systems.
    if (!(written > 0)) throw Object.assign(new Error(`write made no progress after ${done} of ${buffer.length} bytes`), { code: 'EIO' });
    done += written;
  }
}

/** Makes a file's creation, rename or removal in `dir` durable. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
