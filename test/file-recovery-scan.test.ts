/**
 * Recovery after a bad frame looks for good frames in the bytes that follow it. Each
 * frame-like header with a bad checksum costs the checksum of the length it claims,
 * so a tail of fake headers used to cost the square of its size (2 MiB: 16 s). The
 * work is counted here in checksum bytes (node:zlib's crc32 wrapped), never timed.
 */
import { appendFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CorruptLogError } from '../src/errors.js';
import { FileStorage } from '../src/file/file-storage.js';
import type { EnqueuePolicy } from '../src/storage/storage.js';
import { TestClock } from '../src/test-clock.js';
import { newMessage } from './helpers/new-message.js';

const checksummed = vi.hoisted(() => ({ bytes: 0 }));

vi.mock('node:zlib', async (importOriginal) => {
  const zlib = await importOriginal<typeof import('node:zlib')>();
  const crc32 = (data: Uint8Array | string, value?: number): number => {
    checksummed.bytes += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    return zlib.crc32(data, value);
  };
  return { ...zlib, default: { ...zlib, crc32 }, crc32 };
});

const START = 1_700_000_000_000;
const POLICY: EnqueuePolicy = { maxLength: undefined, overflow: 'reject', deadLetter: 'jobs.dlq', dedupeWindow: 60_000 };
const MiB = 1024 * 1024;

const dirs: string[] = [];
const open: FileStorage[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close().catch(() => undefined)));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * `size` bytes of 12-byte frame headers, each claiming a payload that runs exactly to
 * the end, none with a good checksum. No zero bytes at the end: recovery reads zeros
 * after the data as room the writer made ahead, and leaves them out.
 */
function fakeHeaders(size: number): Buffer {
  const tail = Buffer.alloc(size, 0xff);
  for (let at = 0; at + 12 <= size; at += 12) {
    tail.write('PMQB', at, 'latin1');
    tail.writeUInt32LE(size - at - 12, at + 4);
    tail.writeUInt32LE(0xffffffff, at + 8);
  }
  return tail;
}

/** A log of two good batches followed by `tail`; returns its directory and where the tail starts. */
async function logWithTail(tail: Buffer): Promise<{ dir: string; offset: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'pocketmq-scan-'));
  dirs.push(dir);
  const storage = new FileStorage({ dir, clock: new TestClock(START) });
  await storage.enqueue('jobs', [newMessage('a', START)], POLICY, START);
  await storage.enqueue('jobs', [newMessage('b', START)], POLICY, START);
  await storage.close();
  const log = join(dir, 'log-00000001.pmq');
  const offset = statSync(log).size;
  appendFileSync(log, tail);
  return { dir, offset };
}

/** Checksum bytes that opening `dir` computes, and how the open ended. */
async function openCost(dir: string, repair?: 'truncate'): Promise<{ bytes: number; error: unknown; storage: FileStorage }> {
  const storage = new FileStorage(repair ? { dir, clock: new TestClock(START), repair } : { dir, clock: new TestClock(START) });
  open.push(storage);
  checksummed.bytes = 0;
  const error = await storage.open().then(
    () => undefined,
    (e: unknown) => e,
  );
  return { bytes: checksummed.bytes, error, storage };
}

describe('FileStorage: recovery scan after a bad frame', () => {
  it('.open() - a 2 MiB tail of fake frame headers costs at most a few checksum bytes per byte, not its square', async () => {
    const size = 2 * MiB;
    const { dir } = await logWithTail(fakeHeaders(size));
    const { bytes } = await openCost(dir);
    // Before: about size² / 24 ≈ 183 GB of checksums.
    expect(bytes).toBeGreaterThan(size);
    expect(bytes).toBeLessThanOrEqual(8 * size);
  }, 120_000);

  it('.open() - the work grows linearly with the crafted tail', async () => {
    const costs: number[] = [];
    for (const size of [MiB / 4, MiB / 2, MiB]) {
      const { dir } = await logWithTail(fakeHeaders(size));
      costs.push((await openCost(dir)).bytes);
    }
    expect(costs[2]! / costs[1]!).toBeLessThan(2.5);
    expect(costs[1]! / costs[0]!).toBeLessThan(2.5);
  }, 120_000);

  it('.open() - a tail with more fake headers than it checks refuses to open, since good batches could follow; repair cuts it and keeps the good ones', async () => {
    const { dir, offset } = await logWithTail(fakeHeaders(MiB));
    const refused = await openCost(dir);
    expect(refused.error).toBeInstanceOf(CorruptLogError);
    expect((refused.error as CorruptLogError).offset).toBe(offset);
    expect((refused.error as Error).message).toContain('frame-like headers');

    const recovered: unknown[] = [];
    const repaired = new FileStorage({ dir, clock: new TestClock(START), repair: 'truncate' });
    open.push(repaired);
    repaired.on('recovered', (info) => recovered.push(info));
    expect((await repaired.peek('jobs', 10, START)).map((m) => m.id)).toEqual(['a', 'b']);
    expect(recovered).toMatchObject([{ kind: 'repair', offset, bytesDiscarded: MiB }]);
  }, 120_000);

  it('.open() - a torn batch whose body is full of "PMQB" is still cut as a tail, at a cost linear in its size', async () => {
    const body = 'PMQB'.repeat(64 * 1024);
    const dir = mkdtempSync(join(tmpdir(), 'pocketmq-scan-'));
    dirs.push(dir);
    const storage = new FileStorage({ dir, clock: new TestClock(START) });
    await storage.enqueue('jobs', [newMessage('a', START)], POLICY, START);
    await storage.enqueue('jobs', [newMessage('torn', START, { body })], POLICY, START);
    await storage.close();
    const log = join(dir, 'log-00000001.pmq');
    const full = statSync(log).size;
    // Cut the last batch in its middle, as a crash during its write would.
    const { truncateSync } = await import('node:fs');
    truncateSync(log, full - body.length / 2);

    const { bytes, error, storage: reopened } = await openCost(dir);
    expect(error).toBeUndefined();
    expect((await reopened.peek('jobs', 10, START)).map((m) => m.id)).toEqual(['a']);
    expect(bytes).toBeLessThanOrEqual(2 * full);
  });
});
