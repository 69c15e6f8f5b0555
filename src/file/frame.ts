/**
 * The bytes of FileStorage's files: checksummed, length-prefixed frames, one per
 * batch, so a batch is replayed whole or not at all. See docs/file-format.md.
 */
import * as fs from 'node:fs';
import { PocketMQError } from '../errors.js';
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
  const length = candidateLength(buf, offset);
  if (length < 0) return -1;
  const start = offset + FRAME_HEADER_SIZE;
  if (buf.readUInt32LE(offset + 8) !== frameChecksum(buf, start, length)) return -1;
  return start + length;
}

/** What {@link scanFrames} found after the last good frame. */
export interface ScanResult {
  /** Offset just after the last good frame: where the good data ends. */
  readonly end: number;
  /**
   * `'clean'`: the file ends there. `'tail'`: bytes follow that hold no good frame
   * (a torn or garbage tail). `'damaged'`: a good frame follows the bad bytes, or
   * they hold more frame-like headers than recovery checks (see
   * {@link CHECKED_BYTES_PER_BYTE}), so the damage may be before the tail.
   */
  readonly state: 'clean' | 'tail' | 'damaged';
  /** Good frames found after the damage (only for `'damaged'`). */
  readonly framesAfter: number;
  /** Why the bytes after the last good frame are damage and not a tail (only for `'damaged'`). */
  readonly detail: string;
  /** Payload bytes whose checksum the scan computed after the last good frame: its cost. */
  readonly checkedBytes: number;
}

/**
 * Checksum bytes the search for good frames after a bad one may compute per byte
 * it searches (plus {@link CHECKED_BYTES_FLOOR}). A frame-like header with a bad
 * checksum costs its claimed length, so without a bound a tail of fake headers
 * costs the square of its size (16 MiB took about 17 minutes). Crash tails never
 * come near the bound: the bytes after "PMQB" inside a JSON batch read as a length
 * of at least 0x20202020, which runs past the end and is refused before any checksum.
 */
export const CHECKED_BYTES_PER_BYTE = 4;
const CHECKED_BYTES_FLOOR = 64 * 1024;

/**
 * Calls `onFrame` for each good frame from `offset` on, and tells how the good
 * data ends. Stops at the first bad frame: nothing after it is replayed.
 */
export function scanFrames(buf: Buffer, offset: number, onFrame: (payload: Buffer, offset: number) => void): ScanResult {
  let at = offset;
  for (;;) {
    if (at === buf.length) return { end: at, state: 'clean', framesAfter: 0, detail: '', checkedBytes: 0 };
    const end = frameEnd(buf, at);
    if (end < 0) break;
    onFrame(buf.subarray(at + FRAME_HEADER_SIZE, end), at);
    at = end;
  }
  const after = framesAfter(buf, at + 1);
  return { end: at, ...after };
}

/**
 * Looks for good frames anywhere from `from` on, trying the magic at every byte,
 * within a bound on the checksum work of {@link CHECKED_BYTES_PER_BYTE} per byte.
 * When the bound is reached the answer is `'damaged'`: refusing to open costs a
 * `repair` option, cutting good batches would lose messages.
 */
export function framesAfter(buf: Buffer, from: number): Omit<ScanResult, 'end'> {
  let frames = 0;
  let checkedBytes = 0;
  const budget = CHECKED_BYTES_FLOOR + CHECKED_BYTES_PER_BYTE * Math.max(0, buf.length - from);
  for (let at = buf.indexOf(MAGIC_BYTES, from); at >= 0; ) {
    const length = candidateLength(buf, at);
    if (length < 0) {
      at = buf.indexOf(MAGIC_BYTES, at + 1);
      continue;
    }
    if (checkedBytes + length > budget) {
      return {
        state: 'damaged',
        framesAfter: frames,
        detail: `a bad batch is followed by more frame-like headers than recovery checks (${CHECKED_BYTES_PER_BYTE} checksum bytes per byte), so good batches may follow it`,
        checkedBytes,
      };
    }
    checkedBytes += length;
    const start = at + FRAME_HEADER_SIZE;
    if (buf.readUInt32LE(at + 8) === frameChecksum(buf, start, length)) {
      frames++;
      at = buf.indexOf(MAGIC_BYTES, start + length);
    } else {
      at = buf.indexOf(MAGIC_BYTES, at + 1);
    }
  }
  if (frames === 0) return { state: 'tail', framesAfter: 0, detail: '', checkedBytes };
  return { state: 'damaged', framesAfter: frames, detail: `a bad batch is followed by ${frames} good one${frames === 1 ? '' : 's'}`, checkedBytes };
}

/** The payload length a frame at `offset` claims, or -1 when it cannot be a frame (checked without its checksum). */
function candidateLength(buf: Buffer, offset: number): number {
  if (offset + FRAME_HEADER_SIZE > buf.length) return -1;
  if (buf.readUInt32LE(offset) !== FRAME_MAGIC) return -1;
  const length = buf.readUInt32LE(offset + 4);
  if (length === 0 || length > MAX_PAYLOAD || offset + FRAME_HEADER_SIZE + length > buf.length) return -1;
  return length;
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
    if (!(written > 0)) throw new PocketMQError('ERR_WRITE_NO_PROGRESS', `write made no progress after ${done} of ${buffer.length} bytes`);
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
