/**
 * Real processes sharing one Redis queue. These run on the system clock with short
 * visibility timeouts (the point is real concurrency and a real kill -9), and wait
 * for outcomes by polling Redis, never for a fixed time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteError } from '../src/errors.js';
import { Queue } from '../src/queue.js';
import { RedisStorage } from '../src/redis.js';
import { RequestReply } from '../src/request-reply.js';
import { Topic } from '../src/topic.js';
import type { QueueStats } from '../src/storage/storage.js';
import { redisSkipReason, startRedis, useRedis, type RedisServer } from './helpers/redis-server.js';

const WORKER = new URL('./fixtures/redis-worker.ts', import.meta.url).pathname;
const PEER = new URL('./fixtures/redis-peer.ts', import.meta.url).pathname;

/** Skipped, with the reason printed once by test/helpers/redis-global-setup.ts, where Redis cannot run. */
const describeRedis = describe.skipIf(redisSkipReason() !== undefined);
const describeOwnRedis = describe.skipIf(redisSkipReason('own-server') !== undefined);

let server: RedisServer;

beforeAll(async () => {
  if (redisSkipReason() === undefined) server = await useRedis();
});

afterAll(async () => {
  await server?.close();
});

interface Worker {
  readonly child: ChildProcess;
  /** Resolves once the worker has printed `handled <n>` with n >= count. */
  handled(count: number): Promise<void>;
  exited: Promise<void>;
}

function startWorker(env: Record<string, string>): Promise<Worker> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let handled = 0;
  const waiting = new Set<{ count: number; resolve: () => void }>();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`worker exited early (${code ?? signal})`)));
    child.stdout!.setEncoding('utf8');
    let buffer = '';
    child.stdout!.on('data', (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line === 'started') {
          resolve({
            child,
            exited,
            handled: (count) =>
              count <= handled ? Promise.resolve() : new Promise<void>((done) => waiting.add({ count, resolve: done })),
          });
        }
        const match = /^handled (\d+)$/.exec(line);
        if (match) {
          handled = Number(match[1]);
          for (const w of waiting) {
            if (w.count <= handled) {
              waiting.delete(w);
              w.resolve();
            }
          }
        }
      }
    });
  });
}

/** Polls until the queue has nothing waiting or in flight (through a Redis outage too); the test timeout bounds it. */
async function drained<T>(queue: Queue<T>): Promise<QueueStats> {
  for (;;) {
    const stats = await queue.stats().catch((error: unknown) => {
      if ((error as { code?: string }).code === 'ERR_REDIS') return undefined;
      throw error;
    });
    if (stats && stats.ready + stats.delayed + stats.inflight === 0) return stats;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describeRedis('RedisStorage: many processes', () => {
  it(
    'four workers, one killed with SIGKILL mid-way: every message ends acked or dead-lettered exactly once',
    async () => {
      const total = 20_000;
      const prefix = server.prefix('mp');
      const storage = new RedisStorage({ url: server.url, prefix });
      const queue = new Queue<{ n: number }>('work', { storage, visibilityTimeout: 1_000, maxAttempts: 3 });
      const redis = new Redis(server.url);
      try {
        const started = Date.now();
        const sentIds: string[] = [];
        for (let i = 0; i < total; i += 1_000) {
          sentIds.push(...(await queue.sendBatch(Array.from({ length: 1_000 }, (_, j) => ({ body: { n: i + j } })))));
        }
        const sentMs = Date.now() - started;
        const env = { REDIS_URL: server.url, REDIS_PREFIX: prefix, REDIS_QUEUE: 'work', FAIL_RATE: '0.2' };
        const consumeStarted = Date.now();
        const workers = await Promise.all([0, 1, 2, 3].map(() => startWorker(env)));
        await workers[0]!.handled(1_500);
        workers[0]!.child.kill('SIGKILL');
        await workers[0]!.exited;

        const stats = await drained(queue);
        const consumeMs = Date.now() - consumeStarted;
        for (const worker of workers.slice(1)) worker.child.kill('SIGTERM');
        await Promise.all(workers.map((w) => w.exited));

        // Exactly once: each message left through one successful ack or one dead-letter.
        expect(stats.sent).toBe(total);
        expect(stats.acked + stats.deadLettered).toBe(total);
        const dlq = await storage.peek('work.dlq', 10_000, Date.now());
        const dlqIds = dlq.map((m) => m.id);
        expect(new Set(dlqIds).size).toBe(dlqIds.length);
        expect(dlqIds.length).toBe(stats.deadLettered);
        // None lost: every message was handled successfully or is in the dead-letter queue.
        const handled = await redis.hgetall(`${prefix}:handled`);
        const accounted = new Set([...Object.keys(handled), ...dlqIds]);
        expect(sentIds.filter((id) => !accounted.has(id))).toEqual([]);
        // The killed worker's leases ran out and were delivered again: deliveries that ended
        // in neither an ack, a release nor a dead-letter are lease expiries.
        const expiredLeases = stats.delivered - stats.acked - stats.retried - stats.deadLettered;
        expect(expiredLeases).toBeGreaterThan(0);
        const twice = Object.values(handled).filter((count) => Number(count) > 1).length;
        console.log(
          `multi-process: ${total} messages, sent in ${sentMs} ms; 4 workers (1 killed) consumed them in ${consumeMs} ms ` +
            `(${Math.round(total / (consumeMs / 1000))} msg/s); acked ${stats.acked}, dead-lettered ${stats.deadLettered}, ` +
            `deliveries ${stats.delivered}, retries ${stats.retried}, lease expiries ${expiredLeases}, handled twice ${twice}`,
        );
      } finally {
        await storage.close();
        redis.disconnect();
      }
    },
    120_000,
  );
});

describeOwnRedis('RedisStorage: many processes across a Redis crash', () => {
  it(
    'two workers; redis-server (AOF, fsync always) is SIGKILLed and restarted mid-run: every message ends acked or dead-lettered once',
    async () => {
      const aof = await startRedis({ appendOnly: true });
      const total = 5_000;
      const prefix = 'crash';
      const storage = new RedisStorage({ url: aof.url, prefix });
      const queue = new Queue<{ n: number }>('work', { storage, visibilityTimeout: 1_000, maxAttempts: 3 });
      queue.on('error', () => undefined); // the crash makes operations fail for a moment; the outcome is checked below
      const redis = new Redis(aof.url, { maxRetriesPerRequest: null });
      redis.on('error', () => undefined); // reconnects by itself after the crash
      try {
        const sentIds: string[] = [];
        for (let i = 0; i < total; i += 1_000) {
          sentIds.push(...(await queue.sendBatch(Array.from({ length: 1_000 }, (_, j) => ({ body: { n: i + j } })))));
        }
        const env = { REDIS_URL: aof.url, REDIS_PREFIX: prefix, REDIS_QUEUE: 'work', FAIL_RATE: '0.05' };
        const workers = await Promise.all([0, 1].map(() => startWorker(env)));
        await workers[0]!.handled(1_000);
        await aof.stop('SIGKILL');
        await aof.restart();

        const stats = await drained(queue);
        for (const worker of workers) worker.child.kill('SIGTERM');
        await Promise.all(workers.map((w) => w.exited));

        expect(stats.sent).toBe(total);
        expect(stats.acked + stats.deadLettered).toBe(total);
        const dlq = await storage.peek('work.dlq', 10_000, Date.now());
        expect(dlq.length).toBe(stats.deadLettered);
        const handled = await redis.hgetall(`${prefix}:handled`);
        const accounted = new Set([...Object.keys(handled), ...dlq.map((m) => m.id)]);
        expect(sentIds.filter((id) => !accounted.has(id))).toEqual([]);
      } finally {
        redis.disconnect();
        await queue.close();
        await storage.close();
        await aof.close();
      }
    },
    120_000,
  );
});

/** A peer process (test/fixtures/redis-peer.ts): resolves once it printed `ready`; `lines` waits for output. */
function startPeer(role: string, prefix: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', PEER], {
    env: { ...process.env, REDIS_URL: server.url, REDIS_PREFIX: prefix, REDIS_ROLE: role },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const waiters = new Set<{ count: number; resolve: () => void }>();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let buffer = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      lines.push(buffer.slice(0, newline));
      buffer = buffer.slice(newline + 1);
    }
    for (const w of waiters) {
      if (lines.length >= w.count) {
        waiters.delete(w);
        w.resolve();
      }
    }
  });
  /** Resolves once the peer has printed `count` lines. */
  const printed = (count: number) =>
    lines.length >= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.add({ count, resolve }));
  return {
    lines,
    printed,
    ready: printed(1),
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

describeRedis('RedisStorage: Topic and RequestReply between processes', () => {
  it('Topic - a durable subscription made in another process receives the matching publishes', async () => {
    const prefix = server.prefix('topic');
    const storage = new RedisStorage({ url: server.url, prefix });
    const peer = startPeer('subscriber', prefix);
    try {
      await peer.ready;
      const events = new Topic<string>('events', { storage });
      await events.publish('first', { subject: 'order.placed' });
      await events.publish('skipped', { subject: 'user.created' });
      await events.publish('second', { subject: 'order.paid' });
      await peer.printed(3);
      expect(peer.lines).toEqual(['ready', 'got first', 'got second']);
    } finally {
      await peer.stop();
      await storage.close();
    }
  });

  it('RequestReply - a request is served by another process, and its error comes back as a RemoteError', async () => {
    const prefix = server.prefix('rpc');
    const storage = new RedisStorage({ url: server.url, prefix });
    const peer = startPeer('server', prefix);
    const pricing = new RequestReply<{ sku: string }, { price: number }>('pricing', { storage, timeout: 20_000 });
    try {
      await peer.ready;
      expect(await pricing.request({ sku: 'A-12' })).toEqual({ price: 40 });
      const [one, two] = await Promise.all([pricing.request({ sku: 'B' }), pricing.request({ sku: 'CCC' })]);
      expect([one, two]).toEqual([{ price: 10 }, { price: 30 }]);
      const failed = await pricing.request({ sku: 'bad' }).catch((error: unknown) => error);
      expect(failed).toBeInstanceOf(RemoteError);
      expect(failed).toMatchObject({ remoteName: 'RangeError', message: expect.stringContaining('unknown sku bad') });
    } finally {
      await pricing.close();
      await peer.stop();
      await storage.close();
    }
  });
});
