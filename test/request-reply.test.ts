import { getEventListeners } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FileStorage } from '../src/file.js';
import { RedisStorage } from '../src/redis.js';
import { ClosedError, MemoryStorage, Queue, RemoteError, RequestReply, type RequestReplyOptions, TimeoutError } from '../src/index.js';
import { schedulerOf } from '../src/scheduler.js';
import { TestClock } from '../src/testing.js';
import { type RedisServer, redisSkipReason, useRedis } from './helpers/redis-server.js';

/** One turn of the event loop: pending promise chains run (MemoryStorage does no I/O). For handlers the test itself blocks. */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function setup<Req = unknown, Res = unknown>(options: Omit<RequestReplyOptions, 'storage'> = {}, name = 'pricing') {
  const clock = new TestClock(1_000);
  const storage = new MemoryStorage({ clock });
  const rpc = new RequestReply<Req, Res>(name, { storage, ...options });
  return { clock, storage, rpc };
}

/** Settles a promise into a value that can be inspected without awaiting it again. */
function observe<T>(promise: Promise<T>) {
  const state: { status: 'pending' | 'fulfilled' | 'rejected'; value?: T; reason?: unknown } = { status: 'pending' };
  promise.then(
    (value) => Object.assign(state, { status: 'fulfilled', value }),
    (reason: unknown) => Object.assign(state, { status: 'rejected', reason }),
  );
  return state;
}

describe('RequestReply', () => {
  describe('.request()', () => {
    it('.request() - resolves with what the handler returns', async () => {
      const { rpc } = setup<{ sku: string }, number>();
      rpc.serve(async (req) => (req.sku === 'A-1' ? 42 : 0));
      await expect(rpc.request({ sku: 'A-1' })).resolves.toBe(42);
      expect(rpc.stats()).toEqual({ pending: 0, lateReplies: 0 });
    });

    it('.request() - the handler sees the body, the headers and a correlation id', async () => {
      expect.assertions(3);
      const { rpc } = setup<string, string>();
      rpc.serve((body, message) => {
        expect(body).toBe('ping');
        expect(message.headers.tenant).toBe('t-1');
        expect(typeof message.correlationId).toBe('string');
        return 'pong';
      });
      await rpc.request('ping', { headers: { tenant: 't-1' } });
    });

    it('.request() - 1,000 concurrent requests from two instances each get their own reply', async () => {
      const { rpc, storage } = setup<number, string>();
      const other = new RequestReply<number, string>('pricing', { storage });
      const order: number[] = [];
      // Handlers finish out of order: how long each takes depends on the request.
      rpc.serve(
        async (n) => {
          for (let i = 0; i < (n * 7) % 13; i++) await Promise.resolve();
          order.push(n);
          return `reply-${n}`;
        },
        { concurrency: 64 },
      );
      const requests = Array.from({ length: 1_000 }, (_, n) => (n % 2 === 0 ? rpc : other).request(n));
      const replies = await Promise.all(requests);
      expect(order).not.toEqual([...order].sort((a, b) => a - b));
      expect(replies).toEqual(Array.from({ length: 1_000 }, (_, n) => `reply-${n}`));
      expect(rpc.replyQueue).not.toBe(other.replyQueue);
    });

    it('.request() - with timeout Infinity sets no timer and still gets its reply', async () => {
      const { rpc, clock } = setup<number, number>({ timeout: Infinity });
      const before = clock.pendingTimers;
      const reply = observe(rpc.request(1));
      expect(clock.pendingTimers).toBe(before);
      rpc.serve((n) => n + 1);
      await clock.settle();
      expect(reply).toEqual({ status: 'fulfilled', value: 2 });
    });
  });

  describe('remote errors', () => {
    it('.request() - rejects with RemoteError carrying the remote message and name; the request is dead-lettered', async () => {
      const { rpc, storage } = setup<number, number>({ maxAttempts: 1 });
      rpc.serve(() => {
        throw new TypeError('sku must be a string');
      });
      const error = await rpc.request(1).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RemoteError);
      expect(error).toMatchObject({ message: 'sku must be a string', remoteName: 'TypeError', code: 'ERR_REMOTE' });
      const dlq = new Queue('pricing.dlq', { storage });
      expect((await dlq.stats()).ready).toBe(1);
    });

    it('.request() - a thrown non-Error becomes a RemoteError named Error', async () => {
      const { rpc } = setup<number, number>({ maxAttempts: 1 });
      rpc.serve(() => {
        throw 'out of stock';
      });
      await expect(rpc.request(1)).rejects.toMatchObject({ name: 'RemoteError', message: 'out of stock', remoteName: 'Error' });
    });

    it('.serve() - retries with backoff before replying, and a later success is the reply', async () => {
      const { rpc, clock } = setup<number, string>({ maxAttempts: 3, backoff: { initial: 100, jitter: 'none' } });
      let attempts = 0;
      rpc.serve(() => {
        attempts++;
        if (attempts < 3) throw new Error('flaky');
        return 'done';
      });
      const reply = observe(rpc.request(1));
      await clock.advance(99);
      expect([attempts, reply.status]).toEqual([1, 'pending']);
      await clock.advance(1 + 200);
      expect(attempts).toBe(3);
      expect(reply).toEqual({ status: 'fulfilled', value: 'done' });
    });

    it('.serve() - replies with the error only after the last attempt fails', async () => {
      const { rpc, clock } = setup<number, string>({ maxAttempts: 2, backoff: { initial: 100, jitter: 'none' } });
      let attempts = 0;
      rpc.serve(() => {
        attempts++;
        throw new RangeError(`attempt ${attempts}`);
      });
      const reply = observe(rpc.request(1));
      await clock.settle();
      expect([attempts, reply.status]).toEqual([1, 'pending']);
      await clock.advance(100);
      expect(reply.status).toBe('rejected');
      expect(reply.reason).toMatchObject({ message: 'attempt 2', remoteName: 'RangeError' });
    });
  });

  describe('timeouts, aborts and late replies', () => {
    it('.request() - rejects with TimeoutError when no reply comes within timeout, not before', async () => {
      const { rpc, clock } = setup<number, number>();
      const reply = observe(rpc.request(1, { timeout: 5_000 }));
      await clock.advance(4_999);
      expect(reply.status).toBe('pending');
      await clock.advance(1);
      expect(reply.reason).toBeInstanceOf(TimeoutError);
      expect(reply.reason).toMatchObject({ code: 'ERR_TIMEOUT', timeout: 5_000 });
      expect(rpc.stats().pending).toBe(0);
    });

    it('.request() - a request nobody took before its timeout expires from the request queue', async () => {
      const { rpc, clock } = setup<number, number>({ timeout: 1_000 });
      const reply = rpc.request(1).catch((e: unknown) => e);
      await clock.advance(1_000);
      expect(await reply).toBeInstanceOf(TimeoutError);
      let served = 0;
      rpc.serve(() => ++served);
      await clock.settle();
      expect(served).toBe(0);
      expect(await rpc.queue.stats()).toMatchObject({ ready: 0, expired: 1 });
    });

    it('.request() - a reply after the timeout is dropped and counted as late', async () => {
      const { rpc, clock, storage } = setup<number, number>();
      const reply = observe(rpc.request(1, { timeout: 1_000 }));
      // A slow server: it takes the request before the timeout and answers after it.
      // (Pulled by hand because TestClock.advance() waits for running handlers.)
      const [request] = await rpc.queue.receive();
      await clock.advance(1_000);
      expect(reply.reason).toBeInstanceOf(TimeoutError);
      expect(rpc.stats().lateReplies).toBe(0);
      const replyTo = new Queue(request!.headers['pocketmq-reply-to']!, { storage });
      await replyTo.send({ ok: true, value: 1 }, { correlationId: request!.correlationId! });
      await request!.ack();
      await clock.settle();
      expect(rpc.stats()).toEqual({ pending: 0, lateReplies: 1 });
      expect(reply.status).toBe('rejected');
    });

    it('.serve() - a reply nobody takes before the deadline expires from the reply queue and is counted as late', async () => {
      const { rpc, clock, storage } = setup<number, number>();
      const claim = storage.claim.bind(storage);
      // The requester is too busy to take replies: its claims find nothing.
      vi.spyOn(storage, 'claim').mockImplementation((queue, request, now) =>
        queue === rpc.replyQueue ? Promise.resolve({ delivered: [], deadLettered: [] }) : claim(queue, request, now),
      );
      rpc.serve((n) => n);
      const reply = observe(rpc.request(1, { timeout: 1_000 }));
      await clock.settle();
      expect((await storage.stats(rpc.replyQueue, clock.now())).ready).toBe(1);
      await clock.advance(1_000);
      expect(reply.reason).toBeInstanceOf(TimeoutError);
      expect(rpc.stats()).toEqual({ pending: 0, lateReplies: 1 });
      expect(await storage.stats(rpc.replyQueue, clock.now())).toMatchObject({ ready: 0, expired: 1 });
    });

    it('.request() - an abort rejects at once with the signal reason', async () => {
      const { rpc } = setup<number, number>();
      const controller = new AbortController();
      const reply = observe(rpc.request(1, { signal: controller.signal }));
      await turn();
      const reason = new Error('user left');
      controller.abort(reason);
      await turn();
      expect(reply).toEqual({ status: 'rejected', reason });
      expect(rpc.stats().pending).toBe(0);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    });

    it('.request() - an already aborted signal rejects with its reason and sends nothing', async () => {
      const { rpc } = setup<number, number>();
      const reason = new Error('too late');
      await expect(rpc.request(1, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
      expect((await rpc.queue.stats()).sent).toBe(0);
    });

    it('.request() - a reply to an aborted request is counted as late', async () => {
      const { rpc, clock } = setup<number, number>();
      const controller = new AbortController();
      const reply = rpc.request(1, { signal: controller.signal }).catch((e: unknown) => e);
      controller.abort();
      expect(await reply).toMatchObject({ name: 'AbortError' });
      rpc.serve((n) => n);
      await clock.settle();
      expect(rpc.stats()).toEqual({ pending: 0, lateReplies: 1 });
    });
  });

  describe('close', () => {
    it('.close() - rejects pending requests with ClosedError, and later calls too', async () => {
      const { rpc, clock } = setup<number, number>();
      const before = clock.pendingTimers;
      const pending = [rpc.request(1), rpc.request(2, { timeout: Infinity })].map((p) => p.catch((e: unknown) => e));
      await clock.settle();
      // One timer for the timed request (plus perhaps the scheduler's for the requests' TTL).
      const during = clock.pendingTimers;
      expect(during - before).toBeGreaterThanOrEqual(1);
      await rpc.close();
      for (const error of await Promise.all(pending)) expect(error).toBeInstanceOf(ClosedError);
      await expect(rpc.request(3)).rejects.toBeInstanceOf(ClosedError);
      expect(() => rpc.serve(() => 1)).toThrow(ClosedError);
      expect(rpc.stats().pending).toBe(0);
      expect(clock.pendingTimers).toBe(during - 1);
    });

    it('.close() - lets a running handler finish and drops its reply as late', async () => {
      const { rpc, storage } = setup<number, number>();
      let release = () => {};
      let finished = 0;
      rpc.serve(async (n) => {
        await new Promise<void>((resolve) => (release = resolve));
        finished++;
        return n;
      });
      const reply = rpc.request(1).catch((e: unknown) => e);
      await turn();
      const closing = rpc.close();
      expect(await reply).toBeInstanceOf(ClosedError);
      release();
      await closing;
      expect(finished).toBe(1);
      expect(rpc.stats().lateReplies).toBe(1);
      expect((await new Queue(rpc.replyQueue, { storage }).stats()).ready).toBe(0);
    });
  });

  describe('no leaks', () => {
    it('.request() - 100,000 requests leave no pending entry, timer or abort listener behind', async () => {
      const { rpc, clock } = setup<number, number>();
      rpc.serve((n) => n * 2, { concurrency: 100, prefetch: 100 });
      const controller = new AbortController();
      let sum = 0;
      for (let batch = 0; batch < 100; batch++) {
        const replies = await Promise.all(Array.from({ length: 1_000 }, (_, i) => rpc.request(i, { signal: controller.signal })));
        for (const r of replies) sum += r;
      }
      expect(sum).toBe(100 * 2 * ((999 * 1_000) / 2));
      expect(rpc.stats()).toEqual({ pending: 0, lateReplies: 0 });
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      // No request timer is left; at most the scheduler's one timer and the lease renewal timer
      // of each consumer (serve's and the reply queue's), which fire and are not re-set.
      expect(clock.pendingTimers).toBeLessThanOrEqual(3);
      await clock.advance(30_000);
      expect(clock.pendingTimers).toBe(0);
      expect(await rpc.queue.stats()).toMatchObject({ ready: 0, delayed: 0, inflight: 0, acked: 100_000 });
    });
  });

  describe('close releases everything', () => {
    /** A MemoryStorage that tells how many queues its engine keeps state for. */
    class CountingStorage extends MemoryStorage {
      get queueCount(): number {
        return this.engine.queueCount;
      }
    }

    async function cycles(storage: MemoryStorage | FileStorage, n: number): Promise<string[]> {
      const replyQueues: string[] = [];
      for (let i = 0; i < n; i++) {
        const client = new RequestReply<number, number>('pricing', { storage });
        await expect(client.request(i)).resolves.toBe(i * 2);
        await client.close();
        replyQueues.push(client.replyQueue);
      }
      return replyQueues;
    }

    it('.close() - create, request, close cycles leave the storage with the queues and registrations it had', async () => {
      const storage = new CountingStorage({ clock: new TestClock(1_000) });
      const server = new RequestReply<number, number>('pricing', { storage });
      server.serve((n) => n * 2);
      await cycles(storage, 1);
      const scheduler = schedulerOf(storage);
      const before = { queues: storage.queueCount, scheduled: scheduler.trackedQueues };
      const replyQueues = await cycles(storage, 200);
      expect({ queues: storage.queueCount, scheduled: scheduler.trackedQueues }).toEqual(before);
      // A forgotten reply queue reads as never used: its counters start from 0.
      const look = new Queue(replyQueues[0]!, { storage });
      expect(await look.stats()).toMatchObject({ ready: 0, inflight: 0, sent: 0, acked: 0 });
      await look.close();
      expect(scheduler.trackedQueues).toBe(before.scheduled);
      expect(await server.queue.stats()).toMatchObject({ ready: 0, inflight: 0, acked: 201 });
      await server.close();
    });

    it('.close() - a handle that closes lets the scheduler forget its queue; an open one keeps it', async () => {
      const storage = new MemoryStorage({ clock: new TestClock(1_000) });
      const scheduler = schedulerOf(storage);
      const start = scheduler.trackedQueues;
      const kept = new Queue('kept', { storage });
      const closed = new Queue('closed', { storage });
      closed.consume(() => {});
      await closed.send('x');
      await closed.idle();
      expect(scheduler.trackedQueues).toBe(start + 2);
      await closed.close();
      expect(scheduler.trackedQueues).toBe(start + 1);
      // Signals for a queue no handle has open leave nothing behind.
      await new Queue('other', { storage }).close();
      await storage.enqueue('other', [{ id: 'm', body: 1, headers: undefined, priority: 0, enqueuedAt: 1_000, availableAt: 1_000, expiresAt: undefined, dedupeId: undefined, group: undefined, correlationId: undefined, subject: undefined }], { maxLength: undefined, overflow: 'reject', deadLetter: false, dedupeWindow: 0 }, 1_000);
      expect(scheduler.trackedQueues).toBe(start + 1);
      await kept.close();
    });

    it('.close() - on FileStorage, reply queues are neither replayed nor snapshotted, and the directory reopens', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'pocketmq-rpc-'));
      const clock = new TestClock(1_000);
      let storage = new FileStorage({ dir, clock });
      try {
        const server = new RequestReply<number, number>('pricing', { storage });
        server.serve((n) => n * 2);
        await cycles(storage, 50);
        await server.close();
        await storage.close();

        // Replayed from the log: each forgotten reply queue's records end in its zeroed counters.
        storage = new FileStorage({ dir, clock });
        const replayed = new RequestReply<number, number>('pricing', { storage });
        replayed.serve((n) => n * 2);
        await cycles(storage, 1);
        expect(await replayed.queue.stats()).toMatchObject({ ready: 0, inflight: 0, sent: 51, acked: 51 });
        await storage.compact();
        const snapshot = readdirSync(dir).find((name) => name.startsWith('snapshot-'))!;
        const text = readFileSync(join(dir, snapshot), 'latin1');
        expect(text).toContain('"pricing"');
        expect(text).not.toContain('.reply.');
        await replayed.close();
        await storage.close();

        storage = new FileStorage({ dir, clock });
        const reopened = new RequestReply<number, number>('pricing', { storage });
        reopened.serve((n) => n * 2);
        await expect(reopened.request(21)).resolves.toBe(42);
        expect(await reopened.queue.stats()).toMatchObject({ sent: 52, acked: 52 });
        await reopened.close();
      } finally {
        await storage.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('bad input', () => {
    it('new RequestReply() - rejects a bad name, a bad timeout and unknown options', () => {
      expect(() => new RequestReply('')).toThrow(/Expected `name`/);
      expect(() => new RequestReply('x'.repeat(180))).toThrow(RangeError);
      expect(() => new RequestReply('p', { timeout: -1 })).toThrow(RangeError);
      expect(() => new RequestReply('p', { timeout: -1 })).toThrow(/`options.timeout`/);
      expect(() => new RequestReply('p', { timeot: 1 } as RequestReplyOptions)).toThrow(/Unknown option `options.timeot`/);
      expect(() => new RequestReply('p', { maxAttempts: 0 })).toThrow(/`options.maxAttempts`/);
    });

    it('.serve() - throws for a non-function handler', () => {
      const { rpc } = setup();
      expect(() => rpc.serve('nope' as unknown as () => void)).toThrow(/Expected `handler` to be a function/);
    });

    it.each([
      [{ timeout: -5 }, RangeError, /`options.timeout`/],
      [{ timeout: 0 }, RangeError, /`options.timeout`/],
      [{ timeout: 'soon' }, TypeError, /`options.timeout`/],
      [{ signal: {} }, TypeError, /`options.signal`/],
      [{ headers: { a: 1 } }, TypeError, /`options.headers.a`/],
      [{ wait: 1 }, TypeError, /Unknown option `options.wait`/],
    ])('.request(%j) - rejects and sends nothing', async (options, ErrorClass, message) => {
      const { rpc } = setup();
      const error = await rpc.request(1, options as object).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ErrorClass);
      expect((error as Error).message).toMatch(message);
      expect((await rpc.queue.stats()).sent).toBe(0);
      expect(rpc.stats().pending).toBe(0);
    });
  });

  describe('on FileStorage', () => {
    it('.request() - replies and remote errors travel through the file log', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'pocketmq-rpc-'));
      const clock = new TestClock(1_000);
      const storage = new FileStorage({ dir, clock });
      try {
        const rpc = new RequestReply<{ sku: string }, { sku: string; price: number }>('pricing', { storage, maxAttempts: 1 });
        rpc.serve((req) => {
          if (req.sku === 'none') throw new RangeError('unknown sku');
          return { sku: req.sku, price: 9.5 };
        });
        await expect(rpc.request({ sku: 'A-1' })).resolves.toEqual({ sku: 'A-1', price: 9.5 });
        await expect(rpc.request({ sku: 'none' })).rejects.toMatchObject({ name: 'RemoteError', message: 'unknown sku', remoteName: 'RangeError' });
        await rpc.close();
      } finally {
        await storage.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe.skipIf(redisSkipReason() !== undefined)('on RedisStorage shared by two processes', () => {
    let server: RedisServer;
    beforeAll(async () => {
      server = await useRedis();
    });
    afterAll(async () => {
      await server?.close();
    });

    it('.request() - a server in one process answers requests from another, each reply to its requester', async () => {
      const clock = new TestClock(1_000);
      const prefix = server.prefix('rpc');
      const serverSide = new RedisStorage({ url: server.url, prefix, clock });
      const clientSide = new RedisStorage({ url: server.url, prefix, clock });
      try {
        const service = new RequestReply<number, string>('pricing', { storage: serverSide, maxAttempts: 1 });
        service.serve((n) => {
          if (n < 0) throw new RangeError('negative');
          return `price-${n}`;
        });
        const client = new RequestReply<number, string>('pricing', { storage: clientSide });
        const replies = await Promise.all(Array.from({ length: 50 }, (_, n) => client.request(n)));
        expect(replies).toEqual(Array.from({ length: 50 }, (_, n) => `price-${n}`));
        await expect(client.request(-1)).rejects.toMatchObject({ name: 'RemoteError', remoteName: 'RangeError', message: 'negative' });
        expect(client.stats()).toEqual({ pending: 0, lateReplies: 0 });
        await Promise.all([client.close(), service.close()]);
      } finally {
        await Promise.all([serverSide.close(), clientSide.close()]);
      }
    });

    it('.close() - deletes the reply queue\'s keys; a queue still holding a message is not forgotten', async () => {
      const clock = new TestClock(1_000);
      const prefix = `rpc-forget-${process.pid}`;
      const storage = new RedisStorage({ url: server.url, prefix, clock });
      const redis = new Redis(server.url);
      try {
        const service = new RequestReply<number, number>('pricing', { storage });
        service.serve((n) => n + 1);
        const client = new RequestReply<number, number>('pricing', { storage });
        await expect(client.request(1)).resolves.toBe(2);
        expect(await redis.keys(`*${client.replyQueue}*`)).not.toEqual([]);
        await client.close();
        expect(await redis.keys(`*${client.replyQueue}*`)).toEqual([]);
        await service.close();

        const jobs = new Queue<number>('jobs', { storage });
        await jobs.send(1);
        expect(await storage.forget('jobs', clock.now())).toBe(false);
        expect(await jobs.stats()).toMatchObject({ ready: 1, sent: 1 });
        const [message] = await jobs.receive();
        await message!.ack();
        expect(await storage.forget('jobs', clock.now())).toBe(true);
        expect(await redis.keys(`{${prefix}:jobs}:jobs:*`)).toEqual([]); // its family also holds jobs.dlq's keys
        expect(await jobs.stats()).toMatchObject({ ready: 0, sent: 0, acked: 0 });
        await jobs.close();
      } finally {
        redis.disconnect();
        await storage.close();
      }
    });
  });
});
