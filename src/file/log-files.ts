/**
 * The files of a FileStorage directory: numbered log segments and snapshots. Queue
 * names never become file names. See docs/file-format.md for the layout.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { fsyncDir } from './file-io.js';

export const SEGMENT_FILE = /^log-(\d{8})\.pmq$/;
export const SNAPSHOT_FILE = /^snapshot-(\d{8})\.pmq$/;

export function snapshotName(index: number): string {
  return `snapshot-${String(index).padStart(8, '0')}.pmq`;
}

export function segmentName(index: number): string {
  return `log-${String(index).padStart(8, '0')}.pmq`;
}

/** Deletes the segments and snapshots of `dir` numbered below `index`, then makes that durable. */
export function removeFilesBefore(dir: string, index: number): void {
  let removed = false;
  for (const name of fs.readdirSync(dir)) {
    const match = SEGMENT_FILE.exec(name) ?? SNAPSHOT_FILE.exec(name);
    if (match && Number(match[1]) < index) {
      fs.rmSync(join(dir, name), { force: true });
      removed = true;
    }
  }
  if (removed) fsyncDir(dir);
}
