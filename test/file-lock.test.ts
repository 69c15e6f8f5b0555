import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { StorageLockedError } from '../src/errors.js';
import { FileStorage } from '../src/file/file-storage.js';

const HOLDER = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'file-lock-holder.ts');
const run = promisify(execFile);
const dirs: string[] = [];
const children: ChildProcess[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pocketmq-lock-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Starts a process that holds the lock of `dir`; resolves once it does. */
function holder(dir: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', HOLDER, 'hold', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      if (chunk.includes('READY')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`holder exited with ${code}`)));
  });
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('FileStorage: one writer per directory', () => {
  it('.open() - rejects with StorageLockedError naming the pid of the process that holds the directory', async () => {
    const dir = tempDir();
    const child = await holder(dir);
    const storage = new FileStorage({ dir });
    const error = await storage.open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageLockedError);
    expect(error).toMatchObject({ code: 'ERR_STORAGE_LOCKED', pid: child.pid, dir });
    expect((error as Error).message).toContain(`process ${child.pid}`);
    await storage.close();
  });

  it('a second process gets StorageLockedError with our pid while we hold the directory', async () => {
    const dir = tempDir();
    const storage = new FileStorage({ dir });
    await storage.open();
    const { stdout } = await run(process.execPath, ['--import', 'tsx', HOLDER, 'try', dir]);
    expect(stdout.trim()).toBe(`ERR_STORAGE_LOCKED ${process.pid}`);
    await storage.close();
    const after = await run(process.execPath, ['--import', 'tsx', HOLDER, 'try', dir]);
    expect(after.stdout.trim()).toBe('OPENED');
  });

  it('the lock of a process killed with SIGKILL is taken over, and ours is removed on close', async () => {
    const dir = tempDir();
    const child = await holder(dir);
    await killed(child);
    expect(existsSync(join(dir, 'LOCK'))).toBe(true);
    const storage = new FileStorage({ dir });
    await storage.open();
    expect(existsSync(join(dir, 'LOCK'))).toBe(true);
    await storage.close();
    expect(existsSync(join(dir, 'LOCK'))).toBe(false);
  });

  it('a second FileStorage on the same directory in the same process is refused too', async () => {
    const dir = tempDir();
    const first = new FileStorage({ dir });
    await first.open();
    await expect(new FileStorage({ dir }).open()).rejects.toMatchObject({ code: 'ERR_STORAGE_LOCKED', pid: process.pid });
    await first.close();
    const second = new FileStorage({ dir });
    await second.open();
    await second.close();
  });

  it('a lock written on another host is never taken over, whatever its pid', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'LOCK'), '999999999\nanother-host\n');
    await expect(new FileStorage({ dir }).open()).rejects.toMatchObject({ code: 'ERR_STORAGE_LOCKED', pid: 999999999 });
  });

  it('a failed open can be retried once the owner is gone', async () => {
    const dir = tempDir();
    const child = await holder(dir);
    const storage = new FileStorage({ dir });
    await expect(storage.open()).rejects.toBeInstanceOf(StorageLockedError);
    await killed(child);
    await storage.open();
    await storage.close();
  });
});
