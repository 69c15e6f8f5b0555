/**
 * Reading a file's frames on open: replay stops at the first bad frame, and a
 * bounded search after it tells a torn tail from damage before the tail.
 */
import { candidateLength, FRAME_HEADER_SIZE, frameChecksum, frameEnd, MAGIC_BYTES } from './frame.js';

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
 * costs the square of its size (docs/benchmarks.md has the figures). Crash tails never
 * come near the bound: the bytes after "PMQB" inside a JSON batch read as a length
 * of at least 0x20202020, which runs past the end and is refused before any checksum.
 */
export const CHECKED_BYTES_PER_BYTE = 4;
const CHECKED_BYTES_FLOOR = 64 * 1024;

/**
 * Where a file's bytes end once the zeros after them are left out. With `fsync:
 * 'always'` the writer lengthens a segment ahead of its writes, so zeros after the last
 * frame are room not yet written to. They are never part of a frame: every frame ends
 * with the last byte of its JSON payload, and a file header ends with a newline.
 */
export function dataEnd(buf: Buffer): number {
  let end = buf.length;
  while (end > 0 && buf[end - 1] === 0) end--;
  return end;
}

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
