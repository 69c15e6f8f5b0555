/**
 * The file operations the writer goes through, and the two helpers every writing
 * part of FileStorage needs: a write that finishes, and a durable directory change.
 */
import * as fs from 'node:fs';
import { PocketMQError } from '../errors.js';

/**
 * The file operations the writer uses, so tests can make them fail, write short or
 * be slow. Everything else (reading at open, listing, renaming) uses node:fs directly.
 * Writes are synchronous: a batch goes to the OS page cache in a few microseconds,
 * less than a trip through libuv's thread pool costs.
 */
export interface FileIo {
  write(fd: number, buffer: Buffer, offset: number, length: number, position: number): number;
  /** Sets the file's length (`ftruncate`); a longer file reads as zeros past its old end. */
  truncate(fd: number, length: number): void;
  /**
   * fsync on a thread-pool thread: the event loop runs on while the disk works.
   * `dataOnly`: an fdatasync, for a write that changed no file size.
   */
  fsync(fd: number, dataOnly?: boolean): Promise<void>;
  /** fsync on the calling thread: no hand-off to and from the thread pool, but the event loop waits for the disk. */
  fsyncSync(fd: number, dataOnly?: boolean): void;
  /** A stopwatch in ms, to time fsyncs with. */
  now(): number;
}

export const nodeIo: FileIo = {
  write: (fd, buffer, offset, length, position) => fs.writeSync(fd, buffer, offset, length, position),
  truncate: (fd, length) => fs.ftruncateSync(fd, length),
  fsync: (fd, dataOnly) =>
    new Promise((resolve, reject) => (dataOnly ? fs.fdatasync : fs.fsync)(fd, (error) => (error ? reject(error) : resolve()))),
  fsyncSync: (fd, dataOnly) => (dataOnly ? fs.fdatasyncSync(fd) : fs.fsyncSync(fd)),
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
