/**
 * Three real processes holding one schedule on one Redis, one of them killed with
 * SIGKILL halfway: every tick is enqueued exactly once, with no tick missing. They run
 * on the system clock (real timers, real races); the test waits for outcomes by
 * reading Redis, never for a fixed time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStorage } from '../src/redis.js';
import { redisSkipReason, useRedis, type RedisServer } from './helpers/redis-server.js';

const SCHEDULER = new URL('./fixtures/redis-scheduler.ts', import.meta.url).pathname;
const describeRedis = describe.skipIf(redisSkipReason() !== undefined);
const EVERY_MS = 50;

let server: RedisServer;

beforeAll(async () => {
  if (redisSkipReason() === undefined) server = await useRedis();
});

afterAll(async () => {
  await server?.close();
});

function startScheduler(env: Record<string, string>): Promise<{ child: ChildProcess; exited: Promise<unknown> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCHEDULER], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`scheduler exited early (${code ?? signal})`)));
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      if (chunk.includes('started')) resolve({ child, exited });
    });
  });
}

describeRedis('RedisStorage: one schedule held by three processes', () => {
  it('enqueues every tick exactly once, in order and without a gap, while one process is killed', { timeout: 60_000 }, async () => {
    const prefix = server.prefix('sched');
    const queue = 'ticks';
    const env = { REDIS_URL: server.url, REDIS_PREFIX: prefix, REDIS_QUEUE: queue, EVERY_MS: String(EVERY_MS) };
    const redis = new Redis(server.url, { maxRetriesPerRequest: 0 });
    // The schedule as stored (`next|JSON`, docs/redis.md): read with a plain client, so this process fires nothing.
    const countOf = async () => {
      const text = await redis.hget(`{${prefix}:${queue}}:${queue}:sch`, 'beat');
      return text === null ? 0 : (JSON.parse(text.slice(text.indexOf('|') + 1)) as { count: number }).count;
    };
    const until = async (count: number) => {
      while ((await countOf()) < count) await new Promise((resolve) => setTimeout(resolve, 20));
    };
    const processes = await Promise.all([1, 2, 3].map(() => startScheduler(env)));
    try {
      await until(20);
      processes[0]!.child.kill('SIGKILL');
      await processes[0]!.exited;
      const afterKill = await countOf();
      await until(afterKill + 20);
    } finally {
      for (const p of processes.slice(1)) p.child.kill('SIGTERM');
      await Promise.all(processes.map((p) => p.exited));
    }
    const count = await countOf();
    const storage = new RedisStorage({ url: server.url, prefix });
    try {
      const messages = await storage.peek(queue, 100_000, Date.now());
      const ticks = messages.map((m) => Number(m.dedupeId!.split('@')[1]));
      expect(messages.every((m) => m.headers?.['x-schedule'] === 'beat')).toBe(true);
      expect(ticks).toHaveLength(count);
      expect(new Set(ticks).size).toBe(count);
      const sorted = [...ticks].sort((a, b) => a - b);
      expect(sorted.every((t, i) => i === 0 || t - sorted[i - 1]! === EVERY_MS)).toBe(true);
      expect(count).toBeGreaterThanOrEqual(40);
    } finally {
      await storage.close();
      redis.disconnect();
    }
  });
});
