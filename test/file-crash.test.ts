/**
 * kill -9 at random moments: a child process sends, receives and acks on a
 * FileStorage and reports each resolved operation; after every SIGKILL the
 * directory is reopened and checked. `npm run soak` runs the same loop 1,000 times.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { type FileIo, nodeIo } from '../src/file/file-io.js';
import { FileStorage, withFileIo } from '../src/file/file-storage.js';
import { TestClock } from '../src/test-clock.js';
import { CrashChecker, crashLoop } from './fixtures/file-crash-loop.js';

describe('FileStorage: kill -9', () => {
  it('after 50 random SIGKILLs every resolved send is stored or was delivered, and no acked message comes back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pocketmq-crash-'));
    try {
      const figures = await crashLoop({ dir, cycles: 50 });
      expect(figures.problems).toEqual([]);
      expect(figures).toMatchObject({ cycles: 50, lost: 0, resurrected: 0, attemptsDown: 0, fifoViolations: 0 });
      expect(figures.messages).toBeGreaterThan(50);
      console.log(`kill -9: ${JSON.stringify(figures)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 170_000);
});

describe('kill -9 checker', () => {
  it('counts a lost send, a resurrected ack, attempts going down and a FIFO violation', () => {
    const checker = new CrashChecker();
    checker.lines(0, ['READY', 'S a g 1', 'S b g 2', 'S c - 3', 'S d - 4', 'D b g 2 1', 'D a g 1 1', 'D c - 3 2', 'A c']);
    checker.stored(0, new Map([['a', 1], ['b', 1], ['c', 2], ['d', 0]]));
    checker.lines(1, ['D c - 3 1']);
    checker.stored(1, new Map([['a', 1], ['b', 1], ['d', 0]]));
    checker.stored(2, new Map([['b', 1]]));
    expect(checker.figures).toMatchObject({ cycles: 3, messages: 4, lost: 1, resurrected: 1, duplicates: 1, attemptsDown: 1, fifoViolations: 1 });
  });

  it('counts nothing for a clean history with a duplicate after a crash', () => {
    const checker = new CrashChecker();
    checker.lines(0, ['S a g 1', 'D a g 1 1']);
    checker.stored(0, new Map([['a', 1]]));
    checker.lines(1, ['D a g 1 2', 'A a']);
    checker.stored(1, new Map());
    expect(checker.figures).toMatchObject({ lost: 0, resurrected: 0, duplicates: 1, attemptsDown: 0, fifoViolations: 0, problems: [] });
  });
});

describe('FileStorage: failing writes', () => {
  const START = 1_700_000_000_000;
  const POLICY = { maxLength: undefined, overflow: 'reject' as const, deadLetter: false as const, dedupeWindow: 0 };
  const message = (id: string) => ({
    id,
    body: { id, padding: 'p'.repeat(100) },
    headers: undefined,
    priority: 0,
    enqueuedAt: START,
    availableAt: START,
    expiresAt: undefined,
    dedupeId: undefined,
    group: undefined,
    correlationId: undefined,
    subject: undefined,
  });

  /** Real writes, except that write number `failAt` writes half its bytes and then fails like a full disk. */
  function failingIo(failAt: number, calls: { writes: number; fsyncs: number }, failFsync = false): FileIo {
    return {
      write(fd, buffer, offset, length, position) {
        calls.writes++;
        if (calls.writes === failAt) {
          nodeIo.write(fd, buffer, offset, Math.floor(length / 2), position);
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        }
        return nodeIo.write(fd, buffer, offset, length, position);
      },
      truncate: nodeIo.truncate,
      async fsync(fd) {
        calls.fsyncs++;
        if (failFsync) throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
        return nodeIo.fsync(fd);
      },
      fsyncSync(fd) {
        calls.fsyncs++;
        if (failFsync) throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
        nodeIo.fsyncSync(fd);
      },
      now: nodeIo.now,
    };
  }

  /** Ids waiting in `dir`, read far enough in the future that every message written so far is due. */
  async function idsIn(dir: string): Promise<string[]> {
    const later = 4_000_000_000_000;
    const storage = new FileStorage({ dir, clock: new TestClock(later) });
    const ids = (await storage.peek('jobs', 1_000, later)).map((m) => m.id);
    await storage.close();
    return ids;
  }

  it('a write that fails halfway rejects its operations and every later one, and nothing that resolved is lost', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pocketmq-fault-'));
    const calls = { writes: 0, fsyncs: 0 };
    const storage = new FileStorage(withFileIo({ dir, clock: new TestClock(START) }, failingIo(4, calls)));
    const errors: Error[] = [];
    storage.on('error', (error) => errors.push(error));
    for (const id of ['a', 'b', 'c']) await storage.enqueue('jobs', [message(id)], POLICY, START);
    await expect(storage.enqueue('jobs', [message('d')], POLICY, START)).rejects.toMatchObject({ code: 'ERR_STORAGE_FAILED', cause: { code: 'ENOSPC' } });
    await expect(storage.enqueue('jobs', [message('e')], POLICY, START)).rejects.toThrow(/stopped after a failed write: ENOSPC/);
    await expect(storage.stats('jobs', START)).rejects.toMatchObject({ code: 'ERR_STORAGE_FAILED' });
    expect(errors).toHaveLength(1);
    expect(calls.writes).toBe(4);
    await storage.close();
    expect(await idsIn(dir)).toEqual(['a', 'b', 'c']);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a failed fsync is never retried as if it had worked: the batch rejects and so does everything after it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pocketmq-fault-'));
    const calls = { writes: 0, fsyncs: 0 };
    const storage = new FileStorage(withFileIo({ dir, clock: new TestClock(START) }, failingIo(0, calls, true)));
    storage.on('error', () => {});
    await expect(storage.enqueue('jobs', [message('a')], POLICY, START)).rejects.toMatchObject({ code: 'ERR_STORAGE_FAILED', cause: { code: 'EIO' } });
    await expect(storage.enqueue('jobs', [message('b')], POLICY, START)).rejects.toMatchObject({ code: 'ERR_STORAGE_FAILED' });
    await storage.close();
    expect(calls).toEqual({ writes: 1, fsyncs: 1 });
    rmSync(dir, { recursive: true, force: true });
  });

  it('short writes are continued until the whole batch is written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pocketmq-fault-'));
    const calls = { writes: 0 };
    const io: FileIo = {
      ...nodeIo,
      write: (fd, buffer, offset, length, position) => {
        calls.writes++;
        return nodeIo.write(fd, buffer, offset, Math.min(length, 7), position);
      },
    };
    const storage = new FileStorage(withFileIo({ dir, clock: new TestClock(START) }, io));
    await Promise.all(['a', 'b', 'c'].map((id) => storage.enqueue('jobs', [message(id)], POLICY, START)));
    await storage.close();
    expect(calls.writes).toBeGreaterThan(3);
    expect(await idsIn(dir)).toEqual(['a', 'b', 'c']);
    rmSync(dir, { recursive: true, force: true });
  });

  it('under `ulimit -f` a real process gets a clear error once the disk limit is hit, and keeps every resolved send', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pocketmq-fault-'));
    const child = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'file-fault-child.ts');
    const { stdout } = await promisify(execFile)('bash', ['-c', `ulimit -f 32 && exec "${process.execPath}" --import tsx "${child}" "${dir}"`]);
    const lines = stdout.trim().split('\n');
    const sent = lines.filter((line) => line.startsWith('S ')).map((line) => line.slice(2));
    expect(sent.length).toBeGreaterThan(20);
    expect(lines.at(-2)).toMatch(/^E ERR_STORAGE_FAILED .*stopped after a failed write: .*(EFBIG|file too large)/i);
    expect(lines.at(-1)).toBe('L ERR_STORAGE_FAILED');
    const recovered = await idsIn(dir);
    expect(recovered.slice(0, sent.length)).toEqual(sent);
    expect(recovered.length - sent.length).toBeLessThanOrEqual(1);
    rmSync(dir, { recursive: true, force: true });
  });
});
