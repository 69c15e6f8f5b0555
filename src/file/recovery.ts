/**
 * Opening a FileStorage directory: replays the newest snapshot and the segments
 * after it into the engine, cuts a torn tail, and refuses damage before the tail
 * (or, with `repair: 'truncate'`, cuts there too). See docs/file-format.md, Recovery.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import type { Engine } from '../engine/engine.js';
import type { EngineRestorer } from '../engine/persistence.js';
import { CorruptLogError } from '../errors.js';
import { fsyncDir } from './file-io.js';
import { FILE_HEADER_SIZE, frameEnd, SEGMENT_HEADER, SNAPSHOT_HEADER } from './frame.js';
import { dataEnd, framesAfter, scanFrames } from './frame-scan.js';
import { removeFilesBefore, SEGMENT_FILE, segmentName, SNAPSHOT_FILE, snapshotName } from './log-files.js';
import type { RecordBodies } from './record-bodies.js';
import { BadPayloadError, Fold } from './replay.js';
import type { LogWriter } from './writer.js';

/** What a FileStorage cut from its log on open; given to its `recovered` event. */
export interface RecoveryInfo {
  /** The file that was cut. */
  readonly file: string;
  /** Byte offset in `file` where the good data ends and the cut begins. */
  readonly offset: number;
  /**
   * Bytes discarded (in `file` and in any later file removed with it). Zeros after the
   * last non-zero byte are not counted: with `fsync: 'always'` they are room the writer
   * made ahead of its writes, cut without a report when nothing else follows the last batch.
   */
  readonly bytesDiscarded: number;
  /** Batches discarded: the incomplete one at a torn tail, plus any good batches after damage that `repair: 'truncate'` cut. */
  readonly batchesDiscarded: number;
  /** `'tail'`: a torn or garbage tail after the last complete batch (normal after a crash). `'repair'`: damage before the tail, cut because of `repair: 'truncate'`. */
  readonly kind: 'tail' | 'repair';
}


/** Where recovery runs and whom it tells what it cut. */
export interface RecoverySetup {
  readonly dir: string;
  /** `repair: 'truncate'`: cut damage before the tail instead of refusing to open. */
  readonly repair: boolean;
  readonly clock: Clock;
  readonly report: (info: RecoveryInfo) => void;
  /** How replayed bodies are decoded (through the storage's codecs, if any). */
  readonly bodies: RecordBodies;
}

/**
 * Rebuilds `engine` from the files of `setup.dir` and hands the log over to
 * `writer` ({@link LogWriter.resume}). Returns true when a damaged snapshot was cut: it must be
 * rewritten before anything else is written.
 */
export function recover(setup: RecoverySetup, engine: Engine, writer: LogWriter): boolean {
  const dir = setup.dir;
  const segments: number[] = [];
  const snapshots: number[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (name.endsWith('.tmp')) {
      // A snapshot a crash interrupted before its rename: never part of the state.
      fs.rmSync(join(dir, name), { force: true });
      continue;
    }
    const segment = SEGMENT_FILE.exec(name);
    if (segment) segments.push(Number(segment[1]));
    const snapshot = SNAPSHOT_FILE.exec(name);
    if (snapshot) snapshots.push(Number(snapshot[1]));
  }
  segments.sort((a, b) => a - b);
  const base = snapshots.length === 0 ? 0 : Math.max(...snapshots);
  const live = segments.filter((index) => index >= base);
  for (let i = 1; i < live.length; i++) {
    if (live[i] !== live[i - 1]! + 1) throw new CorruptLogError(join(dir, segmentName(live[i - 1]! + 1)), 0, 'the segment is missing');
  }
  if (base > 0 && live.length > 0 && live[0] !== base) throw new CorruptLogError(join(dir, segmentName(base)), 0, 'the segment is missing');

  const restorer = engine.beginRestore();
  try {
    return replay(setup, restorer, writer, base, live);
  } catch (error) {
    restorer.abort();
    throw error;
  }
}

function replay(setup: RecoverySetup, restorer: EngineRestorer, writer: LogWriter, base: number, live: number[]): boolean {
  const dir = setup.dir;
  const fold = new Fold(restorer, setup.bodies);
  let bytes = 0;
  let cut = false;
  if (base > 0) {
    const path = join(dir, snapshotName(base));
    const result = replayFile(setup, path, SNAPSHOT_HEADER, fold, false);
    bytes += result.size;
    if (result.cut || !fold.ended) {
      if (!result.cut && !setup.repair) throw new CorruptLogError(path, result.size, 'the snapshot has no end record');
      // A damaged snapshot: everything after the damage goes, segments included.
      removeSegments(dir, live, 0);
      live.length = 0;
      cut = true;
    }
  }
  for (let i = 0; i < live.length && !cut; i++) {
    const path = join(dir, segmentName(live[i]!));
    const result = replayFile(setup, path, SEGMENT_HEADER, fold, i === live.length - 1);
    bytes += result.size;
    if (result.cut && i < live.length - 1) {
      removeSegments(dir, live, i + 1);
      live.length = i + 1;
      cut = true;
    }
  }
  restorer.finish(setup.clock.now());
  writer.resume({ bytes, records: fold.records, messages: restorer.messageCount(), last: live[live.length - 1], first: Math.max(base, 1) });
  removeFilesBefore(dir, base);
  return cut && base > 0;
}

/** Deletes the segments `live[from..]`. */
function removeSegments(dir: string, live: readonly number[], from: number): void {
  for (let i = from; i < live.length; i++) fs.rmSync(join(dir, segmentName(live[i]!)), { force: true });
  if (from < live.length) fsyncDir(dir);
}

/**
 * Replays one file into `fold`. A torn or garbage tail of the last segment is cut
 * and reported. Damage anywhere else throws CorruptLogError, or with
 * `repair: 'truncate'` is cut and reported too (`cut: true`). Returns the size kept.
 */
function replayFile(setup: RecoverySetup, path: string, header: Buffer, fold: Fold, isLast: boolean): { size: number; cut: boolean } {
  const file = fs.readFileSync(path);
  // Zeros past the data are room the writer made ahead (see dataEnd), not a tail to report.
  const buf = file.subarray(0, dataEnd(file));
  if (buf.length < FILE_HEADER_SIZE || !buf.subarray(0, FILE_HEADER_SIZE).equals(header)) {
    // A segment whose header a crash interrupted is empty: rewrite the header.
    const torn = buf.length < FILE_HEADER_SIZE && header.subarray(0, buf.length).equals(buf);
    if (!(torn && isLast) && !setup.repair) throw new CorruptLogError(path, 0, 'the file header is wrong');
    truncate(path, 0, header);
    if (buf.length > 0) setup.report({ file: path, offset: 0, bytesDiscarded: buf.length, batchesDiscarded: 0, kind: torn && isLast ? 'tail' : 'repair' });
    return { size: header.length, cut: !(torn && isLast) };
  }
  let badPayload = -1;
  let result;
  try {
    result = scanFrames(buf, FILE_HEADER_SIZE, (payload, offset) => {
      try {
        fold.apply(payload);
      } catch (error) {
        if (error instanceof BadPayloadError) badPayload = offset;
        throw error;
      }
    });
  } catch (error) {
    if (!(error instanceof BadPayloadError)) throw error;
    // A checksum that passes rules out a torn write: the writer never makes such a
    // batch, so it is damage wherever it is, the last batch included.
    const after = framesAfter(buf, frameEnd(buf, badPayload));
    result = { end: badPayload, state: 'damaged' as const, framesAfter: after.framesAfter, detail: `the batch there passes its checksum but ${error.message}${after.framesAfter > 0 ? `, and ${after.detail.replace('a bad batch is followed by ', '')} follow it` : ''}` };
  }
  if (result.state === 'clean') {
    if (buf.length < file.length) truncate(path, buf.length);
    return { size: buf.length, cut: false };
  }
  const damaged = result.state === 'damaged' || !isLast;
  if (damaged && !setup.repair) {
    throw new CorruptLogError(path, result.end, result.state === 'damaged' ? result.detail : 'a bad batch ends a segment that is not the last');
  }
  truncate(path, result.end);
  setup.report({
    file: path,
    offset: result.end,
    bytesDiscarded: buf.length - result.end,
    batchesDiscarded: 1 + result.framesAfter,
    kind: damaged ? 'repair' : 'tail',
  });
  return { size: result.end, cut: damaged };
}

function truncate(path: string, size: number, header?: Buffer): void {
  const fd = fs.openSync(path, 'r+');
  try {
    fs.ftruncateSync(fd, size);
    if (header) fs.writeSync(fd, header, 0, header.length, 0);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
