/**
 * Snapshots: the whole engine state as frames of records, written crash-safely so
 * that compaction can delete the log before it. See docs/file-format.md.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { EngineState } from '../engine/persistence.js';
import { type FileIo, fsyncDir, writeFully } from './file-io.js';
import { encodeFrame, SNAPSHOT_HEADER } from './frame.js';
import { snapshotName } from './log-files.js';
import { messageContext, PLAIN_BODIES, type RecordBodies, scheduleContext } from './record-bodies.js';
import { isKey, stringField } from './record-fields.js';
import { batchPayload, countersRecord, dedupeRecord, END_RECORD, putRecord, scheduleRecord } from './records.js';

/** Records per snapshot frame: big enough that open parses few frames, small enough to write in steps. */
const SNAPSHOT_FRAME_RECORDS = 4096;

/**
 * The frames of a snapshot of `state`, as one buffer per frame, the END record last.
 * Bodies are encoded afresh, so a compaction re-encrypts them with the current key.
 */
export function encodeSnapshot(state: EngineState, bodies: RecordBodies = PLAIN_BODIES): Buffer[] {
  const frames: Buffer[] = [];
  let records: string[] = [];
  const add = (record: string) => {
    records.push(record);
    if (records.length >= SNAPSHOT_FRAME_RECORDS) {
      frames.push(encodeFrame(batchPayload(state.lastToken, records)));
      records = [];
    }
  };
  for (const q of state.queues) {
    const queueText = stringField('queue', q.name, isKey);
    for (const m of q.messages) add(putRecord(queueText, m, undefined, bodies.text(m.body, undefined, messageContext(m.id)), bodies.sealed(m.body)));
    for (const [key, id, until] of q.dedupe) add(dedupeRecord(queueText, key, id, until));
    add(countersRecord(queueText, q.counters));
  }
  for (const { queue, schedule } of state.schedules ?? []) {
    const text = bodies.text(schedule.body, undefined, scheduleContext(queue, schedule.id));
    add(scheduleRecord(stringField('queue', queue, isKey), schedule, text, bodies.sealed(schedule.body)));
  }
  records.push(END_RECORD);
  frames.push(encodeFrame(batchPayload(state.lastToken, records)));
  return frames;
}

/**
 * Writes a snapshot crash-safely: a temp file, fsync, rename into place, fsync the
 * directory. A crash at any step leaves either no snapshot or the whole one.
 * Returns its size in bytes.
 */
export async function writeSnapshot(io: FileIo, dir: string, index: number, frames: readonly Buffer[]): Promise<number> {
  const final = join(dir, snapshotName(index));
  const temp = `${final}.tmp`;
  const fd = fs.openSync(temp, 'w', 0o600);
  let size = 0;
  try {
    writeFully(io, fd, SNAPSHOT_HEADER, 0);
    size = SNAPSHOT_HEADER.length;
    for (const frame of frames) {
      writeFully(io, fd, frame, size);
      size += frame.length;
    }
    await io.fsync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw error;
  }
  fs.closeSync(fd);
  fs.renameSync(temp, final);
  fsyncDir(dir);
  return size;
}
