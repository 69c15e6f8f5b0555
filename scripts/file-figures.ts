/**
 * FileStorage figures for the release notes (not a test; numbers never go in tests):
 * send rates per fsync mode, sequential and pipelined, and the time to reopen a
 * directory holding 1,000,000 pending messages.
 * Usage: tsx scripts/file-figures.ts [pending=1000000] [reopen]
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from '../src/queue.js';
import { FileStorage } from '../src/file/file-storage.js';

const pending = Number(process.argv[2] ?? 1_000_000);
const only = process.argv[3]; // 'reopen' skips the send rates
const body = { user: 'u-123', action: 'resize', size: [640, 480] };

function fresh(): string {
  return mkdtempSync(join(tmpdir(), 'pocketmq-figures-'));
}

function diskUse(dir: string): number {
  return readdirSync(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
}

async function rate(mode: 'always' | 'interval' | 'never', pipelined: boolean): Promise<number> {
  const dir = fresh();
  const storage = new FileStorage({ dir, fsync: mode });
  const queue = new Queue('jobs', { storage });
  await storage.open();
  const budget = 2_000;
  const started = performance.now();
  let sent = 0;
  while (performance.now() - started < budget) {
    if (pipelined) {
      await Promise.all(Array.from({ length: 1_000 }, () => queue.send(body)));
      sent += 1_000;
    } else {
      await queue.send(body);
      sent++;
    }
  }
  const perSecond = sent / ((performance.now() - started) / 1000);
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
  return Math.round(perSecond);
}

if (only !== 'reopen') {
  console.log('send rate (messages/s), 2 s each, one 60-byte JSON body:');
  for (const mode of ['always', 'interval', 'never'] as const) {
    console.log(`  fsync '${mode}': sequential ${await rate(mode, false)}, pipelined (1,000 at a time) ${await rate(mode, true)}`);
  }
}

const dir = fresh();
{
  const storage = new FileStorage({ dir, fsync: 'never' });
  const queue = new Queue('jobs', { storage });
  for (let i = 0; i < pending; i += 10_000) await queue.sendBatch(Array.from({ length: 10_000 }, () => ({ body })));
  await storage.close();
}
for (const label of ['log as written', 'after compaction']) {
  const bytes = diskUse(dir);
  const started = performance.now();
  const cpu = process.cpuUsage();
  const storage = new FileStorage({ dir });
  await storage.open();
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  const stats = await new Queue('jobs', { storage }).stats();
  // CPU time too: on a busy machine the wall clock mostly measures the neighbours.
  console.log(`reopen with ${stats.ready} pending (${label}, ${(bytes / 1e6).toFixed(0)} MB): ${ms.toFixed(0)} ms wall, ${cpuMs.toFixed(0)} ms CPU`);
  if (label === 'log as written') await storage.compact();
  await storage.close();
}
rmSync(dir, { recursive: true, force: true });
