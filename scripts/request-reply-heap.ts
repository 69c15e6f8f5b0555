/**
 * Heap growth of RequestReply instances that are created, used once and closed (not a
 * test; numbers never go in tests): heapUsed after a full GC, before and after N cycles,
 * on MemoryStorage and FileStorage (`fsync: 'never'`: fsyncs change the time, not the heap),
 * and the FileStorage directory's size after a compaction.
 * Usage: node --expose-gc --import tsx scripts/request-reply-heap.ts [cycles=20000] [memory|file]
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RequestReply } from '../src/request-reply.js';
import { FileStorage } from '../src/file/file-storage.js';
import { MemoryStorage } from '../src/memory/memory-storage.js';
import type { Storage } from '../src/storage/storage.js';

const cycles = Number(process.argv[2] ?? 20_000);
/** 'memory' or 'file' measures one storage (each in a process of its own gives clean figures); unset: both. */
const which = process.argv[3];
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

/** heapUsed after a full GC, in MB, taken after a turn of the event loop: WeakRef targets are kept until then. */
async function heapMB(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 10));
  gc!();
  gc!();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

async function measure(label: string, storage: Storage, after?: () => Promise<string>): Promise<void> {
  const server = new RequestReply<number, number>('pricing', { storage });
  server.serve((n) => n * 2, { concurrency: 4 });
  const cycle = async (i: number) => {
    const client = new RequestReply<number, number>('pricing', { storage });
    await client.request(i, { timeout: 10_000 });
    await client.close();
  };
  for (let i = 0; i < 500; i++) await cycle(i);
  const before = await heapMB();
  for (let i = 0; i < cycles; i++) await cycle(i);
  const grown = (await heapMB()) - before;
  const extra = after ? `, ${await after()}` : '';
  console.log(`${label}: heapUsed after GC ${before.toFixed(1)} MB -> ${(before + grown).toFixed(1)} MB (+${grown.toFixed(1)} MB, ${((grown * 1024 * 1024) / cycles).toFixed(0)} B per cycle)${extra}`);
  await server.close();
}

if (which !== 'file') await measure(`MemoryStorage, ${cycles} cycles`, new MemoryStorage());
if (which === 'memory') process.exit(0);

const dir = mkdtempSync(join(tmpdir(), 'pocketmq-rr-heap-'));
const file = new FileStorage({ dir, fsync: 'never' });
await measure(`FileStorage, ${cycles} cycles`, file, async () => {
  await file.compact();
  const bytes = readdirSync(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
  return `directory after compact() ${(bytes / 1024).toFixed(1)} KB`;
});
await file.close();
rmSync(dir, { recursive: true, force: true });
