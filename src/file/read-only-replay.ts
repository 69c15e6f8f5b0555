/**
 * Opening a FileStorage directory read-only (`readOnly: true`), typically one that a
 * running process holds: the replay of recovery.ts without its repairs. It never
 * writes, truncates, renames or deletes a byte, and reads the last segment only up
 * to its last complete frame, since the owner may be halfway through appending one.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { EngineRestorer } from '../engine/persistence.js';
import { CorruptLogError } from '../errors.js';
import { FILE_HEADER_SIZE, SEGMENT_HEADER, SNAPSHOT_HEADER } from './frame.js';
import { dataEnd, scanFrames } from './frame-scan.js';
import { SEGMENT_FILE, segmentName, SNAPSHOT_FILE, snapshotName } from './log-files.js';
import { BadPayloadError, Fold } from './replay.js';

/**
 * Reads of a directory the owner compacts meanwhile (its files deleted between our
 * listing and our reads) start over this many times before the error is reported.
 */
const READ_ATTEMPTS = 5;

/** Rebuilds the state of `dir` through `begin()`'s restorer, finished at `now()`. */
export function replayReadOnly(dir: string, begin: () => EngineRestorer, now: () => number): void {
  for (let attempt = 1; ; attempt++) {
    const restorer = begin();
    try {
      readState(dir, new Fold(restorer));
      restorer.finish(now());
      return;
    } catch (error) {
      restorer.abort();
      if (attempt < READ_ATTEMPTS && isOwnerChange(error)) continue;
      throw error;
    }
  }
}

/** A file gone, or a segment not there yet: what a compaction or a new segment by the owner looks like mid-read. */
function isOwnerChange(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT' || (error instanceof CorruptLogError && error.message.includes('is missing'));
}

function readState(dir: string, fold: Fold): void {
  const segments: number[] = [];
  let base = 0;
  for (const name of fs.readdirSync(dir)) {
    const segment = SEGMENT_FILE.exec(name);
    if (segment) segments.push(Number(segment[1]));
    const snapshot = SNAPSHOT_FILE.exec(name);
    if (snapshot) base = Math.max(base, Number(snapshot[1]));
  }
  const live = segments.filter((index) => index >= base).sort((a, b) => a - b);
  for (let i = 1; i < live.length; i++) {
    if (live[i] !== live[i - 1]! + 1) throw new CorruptLogError(join(dir, segmentName(live[i - 1]! + 1)), 0, 'the segment is missing');
  }
  if (base > 0) {
    const path = join(dir, snapshotName(base));
    readFile(path, SNAPSHOT_HEADER, fold, false);
    // Snapshots are renamed into place whole, so one without its end record is damage.
    if (!fold.ended) throw new CorruptLogError(path, 0, 'the snapshot has no end record');
  }
  for (let i = 0; i < live.length; i++) readFile(join(dir, segmentName(live[i]!)), SEGMENT_HEADER, fold, i === live.length - 1);
}

function readFile(path: string, header: Buffer, fold: Fold, isLast: boolean): void {
  const file = fs.readFileSync(path);
  const buf = file.subarray(0, dataEnd(file));
  if (buf.length < FILE_HEADER_SIZE || !buf.subarray(0, FILE_HEADER_SIZE).equals(header)) {
    // The newest segment whose header the owner is writing right now holds nothing yet.
    if (isLast && buf.length < FILE_HEADER_SIZE && header.subarray(0, buf.length).equals(buf)) return;
    throw new CorruptLogError(path, 0, 'the file header is wrong');
  }
  let result;
  let at = FILE_HEADER_SIZE;
  try {
    result = scanFrames(buf, FILE_HEADER_SIZE, (payload, offset) => {
      at = offset;
      fold.apply(payload);
    });
  } catch (error) {
    if (error instanceof BadPayloadError) throw new CorruptLogError(path, at, `the batch there passes its checksum but ${error.message}`);
    throw error;
  }
  // After the last complete frame of the newest segment may come one being appended: not ours to judge.
  if (result.state !== 'clean' && !isLast) throw new CorruptLogError(path, result.end, 'a bad batch ends a segment that is not the last');
}
