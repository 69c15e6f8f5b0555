/**
 * RedisStorage figures for the release notes (not a test; numbers never go in tests):
 * Redis memory per pending message, and the time Redis spends inside the scripts per
 * message while sending (1,000 in flight) and while draining the way a consumer of
 * concurrency 16 does (claim 16, then its acks and next claim of 16 in one turn).
 * Starts its own redis-server on a free port. `npm run bench` compares with BullMQ.
 * Usage: tsx scripts/redis-figures.ts [messages=20000] [runs=3]
 */
import { Redis } from 'ioredis';
import { RedisStorage } from '../src/redis.js';
import type { EnqueuePolicy, NewMessage } from '../src/storage/storage.js';
import { newMessage } from '../test/helpers/new-message.js';
import { startRedis } from '../test/helpers/redis-server.js';

const messages = Number(process.argv[2] ?? 20_000);
const runs = Number(process.argv[3] ?? 3);
const POLICY: EnqueuePolicy = { maxLength: undefined, overflow: 'reject', deadLetter: false, dedupeWindow: 0 };
const CLAIM = { max: 16, leaseMs: 30_000, maxAttempts: 5, deadLetter: false } as const;

const server = await startRedis();
const admin = new Redis(server.url);

function item(i: number, now: number): NewMessage {
  return newMessage(`m${i}`, now, { body: { id: i, pad: 'x'.repeat(80) } });
}

/** µs spent inside scripts since the last call (INFO commandstats, then reset). */
async function scriptMicros(): Promise<number> {
  const info = await admin.info('commandstats');
  await admin.config('RESETSTAT');
  let micros = 0;
  for (const m of info.matchAll(/cmdstat_eval(?:sha)?:calls=\d+,usec=(\d+)/g)) micros += Number(m[1]);
  return micros;
}

async function usedMemory(): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
}

async function sendAll(storage: RedisStorage, now: number): Promise<void> {
  for (let from = 0; from < messages; from += 1_000) {
    const sends: Promise<unknown>[] = [];
    for (let i = from; i < Math.min(from + 1_000, messages); i++) sends.push(storage.enqueue('jobs', [item(i, now)], POLICY, now));
    await Promise.all(sends);
  }
}

const figures = { memory: [] as number[], send: [] as number[], drain: [] as number[], drainWall: [] as number[] };
for (let run = 0; run < runs; run++) {
  await admin.flushall();
  await admin.script('FLUSH');
  const storage = new RedisStorage({ url: server.url, prefix: 'figures' });
  await storage.open();
  const now = Date.now();
  // The queue's keys exist before the first measure.
  await storage.enqueue('jobs', [{ ...item(-1, now), id: 'first' }], POLICY, now);
  const before = await usedMemory();
  await scriptMicros();
  await sendAll(storage, now);
  figures.send.push((await scriptMicros()) / messages);
  figures.memory.push(((await usedMemory()) - before) / messages);
  const started = performance.now();
  let claimed = await storage.claim('jobs', CLAIM, now);
  while (claimed.delivered.length > 0) {
    const acks = storage.ack('jobs', claimed.delivered.map((d) => d.receipt), now);
    claimed = await storage.claim('jobs', CLAIM, now);
    await acks;
  }
  figures.drainWall.push(((performance.now() - started) * 1_000) / messages);
  figures.drain.push((await scriptMicros()) / messages);
  await storage.close();
}
const version = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1];
admin.disconnect();
await server.close();

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
console.log(`RedisStorage on redis-server ${version}, ${messages.toLocaleString('en-US')} messages of 100 B, medians of ${runs} runs:`);
const rows: [string, string][] = [
  ['Redis memory per pending message', `${median(figures.memory).toFixed(0)} B`],
  ['Redis time in scripts per message sent (1,000 in flight)', `${median(figures.send).toFixed(1)} µs`],
  ['Redis time in scripts per message drained (claim 16, then acks + claim of 16 per turn)', `${median(figures.drain).toFixed(1)} µs`],
  ['drain wall time per message', `${median(figures.drainWall).toFixed(1)} µs`],
];
for (const [label, value] of rows) console.log(`  ${label.padEnd(88)} ${value}`);
