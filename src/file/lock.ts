/**
 * One writer per FileStorage directory: a lock file holding the owner's pid and
 * host, created exclusively. No heartbeat: a lock is stale only when its process
 * is gone, which a stalled event loop cannot fake.
 */
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StorageLockedError } from '../errors.js';
import { fsyncDir } from './file-io.js';

export const LOCK_FILE = 'LOCK';

interface Owner {
  readonly pid: number;
  readonly host: string;
}

function readOwner(path: string): Owner | undefined {
  try {
    const [pid, host] = fs.readFileSync(path, 'utf8').split('\n');
    const n = Number(pid);
    return Number.isInteger(n) && n > 0 ? { pid: n, host: host ?? '' } : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the lock of `dir`, or throws `StorageLockedError` naming the owner. A lock
 * whose process no longer runs on this host is taken over; a lock from another host,
 * or one whose content cannot be read, is never assumed stale.
 */
export function acquireLock(dir: string): () => void {
  const path = join(dir, LOCK_FILE);
  const me = `${process.pid}\n${hostname()}\n`;
  for (let tries = 0; tries < 5; tries++) {
    try {
      const fd = fs.openSync(path, 'wx', 0o600);
      try {
        fs.writeSync(fd, me);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fsyncDir(dir);
      return () => releaseLock(path, me);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = readOwner(path);
    // An unreadable lock may be one being written right now: look again before judging it.
    if (!owner) {
      if (tries < 4) continue;
      throw new StorageLockedError(dir, undefined);
    }
    if (owner.host !== hostname() || owner.pid === process.pid || isAlive(owner.pid)) throw new StorageLockedError(dir, owner.pid);
    takeOver(dir, path, owner);
  }
  throw new StorageLockedError(dir, readOwner(path)?.pid);
}

/**
 * Removes a dead owner's lock. It is first renamed to a name of our own and read
 * back, so that when two processes take over at once, the one that moved a fresh
 * lock (not the stale one) notices and puts it back.
 */
function takeOver(dir: string, path: string, stale: Owner): void {
  const aside = join(dir, `${LOCK_FILE}.${process.pid}.stale`);
  try {
    fs.renameSync(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = readOwner(aside);
  if (moved && moved.pid !== stale.pid && moved.host === hostname() && isAlive(moved.pid)) {
    try {
      fs.linkSync(aside, path);
    } catch {
      // Someone holds the lock by now anyway; the exclusive create will see it.
    }
    fs.rmSync(aside, { force: true });
    throw new StorageLockedError(dir, moved.pid);
  }
  fs.rmSync(aside, { force: true });
}

function releaseLock(path: string, me: string): void {
  try {
    if (fs.readFileSync(path, 'utf8') === me) fs.unlinkSync(path);
  } catch {
    // Already gone: nothing to release.
  }
}
