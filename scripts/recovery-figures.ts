/**
 * How long FileStorage takes to open a log whose tail is a run of fake frame headers
 * (each claims a payload that runs to the end; none has a good checksum): the
 * worst case of the search for good frames after a bad one. Not a test; numbers
 * never go in tests. Usage: tsx scripts/recovery-figures.ts [KiB...]
 * (default 512 1024 2048 16384).
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FileStorage } from '../src/file/file-storage.js';

const { positionals } = parseArgs({ allowPositionals: true });
const sizesKiB = positionals.length > 0 ? positionals.map(Number) : [512, 1024, 2048, 16384];

function fakeHeaders(size: number): Buffer {
  const tail = Buffer.alloc(size);
  for (let at = 0; at + 12 <= size; at += 12) {
    tail.write('PMQB', at, 'latin1');
    tail.writeUInt32LE(size - at - 12, at + 4);
  }
  return tail;
}

const START = 1_700_000_000_000;
const now = () => START;

for (const kib of sizesKiB) {
  const dir = mkdtempSync(join(tmpdir(), 'pocketmq-recovery-'));
  try {
    const storage = new FileStorage({ dir, clock: { now, setTimer: () => 0, clearTimer: () => undefined } });
    await storage.enqueue('jobs', [{ id: 'a', body: 1, headers: undefined, priority: 0, enqueuedAt: START, availableAt: START, expiresAt: undefined, dedupeId: undefined, group: undefined, correlationId: undefined, subject: undefined }], { maxLength: undefined, overflow: 'reject', deadLetter: false, dedupeWindow: 1 }, START);
    await storage.close();
    appendFileSync(join(dir, 'log-00000001.pmq'), fakeHeaders(kib * 1024));
    const reopened = new FileStorage({ dir });
    const started = performance.now();
    const outcome = await reopened.open().then(
      () => 'opened',
      (error: unknown) => (error as { code?: string }).code ?? String(error),
    );
    const ms = performance.now() - started;
    await reopened.close();
    console.log(`${String(kib).padStart(6)} KiB tail of fake frame headers: open ${ms.toFixed(1).padStart(9)} ms, ${outcome}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
