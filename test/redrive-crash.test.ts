/**
 * A process killed with SIGKILL in the middle of a redrive: each message is then in
 * exactly one of the two queues, never lost, never in both, never moved twice. The
 * child (fixtures/redrive-child.ts) redrives a large dead-letter queue in steps; the
 * parent kills it at random moments and looks at both queues after each kill.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileStorage } from '../src/file/file-storage.js';
import { RedisStorage } from '../src/redis.js';
import type { Storage } from '../src/storage/storage.js';
import { newMessage } from './helpers/new-message.js';
import { redisSkipReason, useRedis, type RedisServer } from './helpers/redis-server.js';

const CHILD = new URL('./fixtures/redrive-child.ts', import.meta.url).pathname;
const COUNT = 6_000;
const POLICY = { maxLength: undefined, overflow: 'reject', deadLetter: false, dedupeWindow: 0 } as const;

/** Fills `orders.dlq` with COUNT dead letters of `orders`, numbered in order. */
async function fill(storage: Storage): Promise<void> {
  const now = Date.now();
  for (let from = 0; from < COUNT; from += 1_000) {
    const items = Array.from({ length: 1_000 }, (_, i) =>
      newMessage(`m${from + i}`, now, { headers: { k: 'v', 'x-original-queue': 'orders', 'x-dead-reason': 'max-attempts', 'x-attempts': '3', 'x-dead-at': String(now) } }),
    );
    await storage.enqueue('orders.dlq', items, POLICY, now);
  }
}

/** Runs the child and SIGKILLs it `killAfter` ms after it is ready; resolves with whether it finished first. */
function runChild(args: readonly string[], killAfter: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: ReturnType<typeof setTimeout> | undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (timer === undefined && out.includes('READY\n')) timer = setTimeout(() => child.kill('SIGKILL'), killAfter);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') return resolve(false);
      if (code === 0 && out.includes('DONE\n')) return resolve(true);
      reject(new Error(`redrive child failed (code ${code}): ${err}`));
    });
  });
}

/** Checks that every message is in exactly one queue, moved ones redriven once; returns how many moved. */
async function check(storage: Storage): Promise<number> {
  const now = Date.now();
  const moved = await storage.peek('orders', COUNT + 1, now);
  const left = await storage.peek('orders.dlq', COUNT + 1, now);
  const seen = new Set<string>();
  for (const m of [...moved, ...left]) {
    expect(seen.has(m.id), `${m.id} is in both queues`).toBe(false);
    seen.add(m.id);
  }
  expect(seen.size).toBe(COUNT);
  for (const m of moved) expect(m.headers).toEqual({ k: 'v', 'x-redrive-count': '1' });
  // Moved in order: the moved ones are a prefix of the numbering, the rest its remainder.
  expect(moved.map((m) => m.id)).toEqual(Array.from({ length: moved.length }, (_, i) => `m${i}`));
  expect(left.map((m) => m.id)).toEqual(Array.from({ length: left.length }, (_, i) => `m${moved.length + i}`));
  return moved.length;
}

/** Kills the child at random moments until it has moved everything; returns the number of kills that landed mid-redrive. */
async function killLoop(args: readonly string[], open: () => Storage): Promise<number> {
  let kills = 0;
  let last = 0;
  for (let cycle = 0; cycle < 40; cycle++) {
    // Later cycles run longer, so the loop ends however fast the machine is.
    const finished = await runChild(args, 10 + cycle * 15 + Math.floor(Math.random() * 60));
    const storage = open();
    let moved: number;
    try {
      moved = await check(storage);
    } finally {
      await storage.close();
    }
    expect(moved).toBeGreaterThanOrEqual(last);
    if (!finished && moved > last && moved < COUNT) kills++;
    last = moved;
    if (finished) break;
  }
  expect(last).toBe(COUNT);
  return kills;
}

describe('redrive: kill -9 mid-redrive', () => {
  it('FileStorage: after each SIGKILL every message is in exactly one of the two queues', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pocketmq-redrive-'));
    try {
      const storage = new FileStorage({ dir });
      await fill(storage);
      await storage.close();
      const kills = await killLoop(['file', dir], () => new FileStorage({ dir }));
      expect(kills).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 170_000);
});

describe.skipIf(redisSkipReason() !== undefined)('redrive: killed process mid-redrive on Redis', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await useRedis();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('RedisStorage: after each SIGKILL every message is in exactly one of the two queues', async () => {
    const prefix = server.prefix('redrive');
    const storage = new RedisStorage({ url: server.url, prefix });
    await fill(storage);
    await storage.close();
    const kills = await killLoop(['redis', server.url, prefix], () => new RedisStorage({ url: server.url, prefix }));
    expect(kills).toBeGreaterThan(0);
  }, 170_000);
});
