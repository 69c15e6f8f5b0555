/**
 * FileStorage `readOnly: true`: looking at a directory another process holds without
 * taking its lock, writing a byte, or mistaking the owner's half-written batch for damage.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ReadOnlyError } from '../src/errors.js';
import { FileStorage } from '../src/file/file-storage.js';
import { FILE_HEADER_SIZE } from '../src/file/frame.js';
import type { RecoveryInfo } from '../src/file/recovery.js';
import { Queue } from '../src/queue.js';

const OWNER = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'file-owner.ts');
const dirs: string[] = [];
const children: ChildProcess[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pmq-read-only-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Starts test/fixtures/file-owner.ts on `dir`; resolves once it holds the directory and stored its orders. */
function owner(dir: string, mode: 'idle' | 'busy'): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', OWNER, dir, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      if (chunk.includes('READY')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`owner exited with ${code}`)));
  });
}

/** Every file of `dir` with its contents. */
function contents(dir: string): Map<string, Buffer> {
  return new Map(readdirSync(dir).map((name) => [name, readFileSync(join(dir, name))]));
}

function hashes(dir: string): Record<string, string> {
  return Object.fromEntries([...contents(dir)].map(([name, bytes]) => [name, createHash('sha256').update(bytes).digest('hex')]));
}

/** The newest segment of `dir`. */
function lastSegment(dir: string): string {
  return join(dir, readdirSync(dir).filter((name) => name.startsWith('log-')).sort().at(-1)!);
}

describe('FileStorage readOnly', () => {
  it('reads a directory another process holds, without its lock and without changing a byte', async () => {
    const dir = tempDir();
    await owner(dir, 'idle');
    const before = hashes(dir);
    const storage = new FileStorage({ dir, readOnly: true });
    await storage.open();
    expect(storage.readOnly).toBe(true);
    expect(await storage.queues!(Date.now())).toEqual(['orders', 'orders.dlq']);
    const orders = new Queue<{ n: number }>('orders', { storage });
    expect(await orders.stats()).toMatchObject({ ready: 3, delayed: 0, inflight: 0, sent: 5, deadLettered: 2 });
    const dead = await new Queue('orders.dlq', { storage }).peek(10);
    expect(dead.map((m) => [m.body, m.headers['x-dead-reason'], m.headers['x-original-queue']])).toEqual([
      [{ n: 1 }, 'bad-input', 'orders'],
      [{ n: 2 }, 'bad-input', 'orders'],
    ]);
    await storage.close();
    expect(hashes(dir)).toEqual(before);
  });

  it.each([
    ['send', (q: Queue<{ n: number }>) => q.send({ n: 9 })],
    ['receive', (q: Queue<{ n: number }>) => q.receive({ max: 1 })],
    ['purge', (q: Queue<{ n: number }>) => q.purge()],
    ['remove', (q: Queue<{ n: number }>) => q.remove('any')],
    ['redrive', (q: Queue<{ n: number }>) => q.redrive({ to: 'orders.retry' })],
  ])('.%s() - rejects with ReadOnlyError and changes nothing', async (_name, change) => {
    const dir = tempDir();
    await owner(dir, 'idle');
    const before = hashes(dir);
    const storage = new FileStorage({ dir, readOnly: true });
    const queue = new Queue<{ n: number }>('orders', { storage });
    const error = await change(queue).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ReadOnlyError);
    expect(error).toMatchObject({ code: 'ERR_READ_ONLY', message: expect.stringContaining(dir) });
    expect(await queue.stats()).toMatchObject({ ready: 3, sent: 5 });
    await storage.close();
    expect(hashes(dir)).toEqual(before);
  });

  it('.compact() - rejects with ReadOnlyError', async () => {
    const dir = tempDir();
    const storage = new FileStorage({ dir: tempDir(), readOnly: true });
    await expect(storage.compact()).rejects.toMatchObject({ code: 'ERR_READ_ONLY', operation: 'compact' });
    await storage.close();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reads up to the last complete batch when the newest one is half written, and leaves it there', async () => {
    const dir = tempDir();
    const writer = new FileStorage({ dir });
    const queue = new Queue('orders', { storage: writer });
    await queue.send({ n: 1 });
    await queue.send({ n: 2 });
    await writer.close();
    // The first bytes of a batch, as an owner mid-append leaves them.
    const segment = lastSegment(dir);
    appendFileSync(segment, readFileSync(segment).subarray(FILE_HEADER_SIZE, FILE_HEADER_SIZE + 20));
    const before = hashes(dir);

    const reader = new FileStorage({ dir, readOnly: true });
    expect(await new Queue('orders', { storage: reader }).stats()).toMatchObject({ ready: 2, sent: 2 });
    await reader.close();
    expect(hashes(dir)).toEqual(before);

    // The same bytes are a torn tail that a writable open cuts: the reader really did leave them.
    const recovered: RecoveryInfo[] = [];
    const reopened = new FileStorage({ dir }).on('recovered', (info) => recovered.push(info));
    await reopened.open();
    await reopened.close();
    expect(recovered).toMatchObject([{ kind: 'tail', bytesDiscarded: 20 }]);
  });

  it('keeps reading while the owner appends, rolls over and compacts, never reporting damage or changing its bytes', async () => {
    const dir = tempDir();
    await owner(dir, 'busy');
    const seen: number[] = [];
    for (let i = 0; i < 12; i++) {
      const before = contents(dir);
      const storage = new FileStorage({ dir, readOnly: true });
      seen.push((await new Queue('busy', { storage }).stats()).sent);
      await storage.close();
      // The owner only appends to its files and deletes old ones: every file still there starts with what it held.
      for (const [name, bytes] of contents(dir)) {
        const earlier = before.get(name);
        if (earlier) expect(bytes.subarray(0, earlier.length).equals(earlier), name).toBe(true);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.at(-1)!).toBeGreaterThan(seen[0]!);
  });

  it('rejects a directory that does not exist, naming options.dir, and creates nothing', async () => {
    const dir = join(tempDir(), 'missing');
    const storage = new FileStorage({ dir, readOnly: true });
    await expect(storage.open()).rejects.toThrow(/options\.dir.*existing directory/);
    expect(existsSync(dir)).toBe(false);
  });

  it('rejects a readOnly that is not a boolean, naming it', () => {
    expect(() => new FileStorage({ dir: tempDir(), readOnly: 'yes' as never })).toThrow(/`options\.readOnly` to be a boolean/);
  });
});
