import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClosedError, PocketMQError } from '../src/errors.js';
import { Queue } from '../src/queue.js';
import { RedisStorage } from '../src/redis.js';
import { MemoryStorage } from '../src/memory/memory-storage.js';
import type { NewMessage, Receipt, Storage, StorageSignal } from '../src/storage/storage.js';
import { TestClock } from '../src/test-clock.js';
import { redisSkipReason, startRedis, useRedis, type RedisServer } from './helpers/redis-server.js';
import { describeStorage } from './storage-contract.js';
import { newMessage } from './helpers/new-message.js';

/** Skipped, with the reason printed once by test/helpers/redis-global-setup.ts, where Redis cannot run. */
const describeRedis = describe.skipIf(redisSkipReason() !== undefined);
const describeOwnRedis = describe.skipIf(redisSkipReason('own-server') !== undefined);

let server: RedisServer;
/** A prefix no other test uses: each test sees an empty storage on the shared server. */
const freshPrefix = () => server.prefix('t');

beforeAll(async () => {
  if (redisSkipReason() === undefined) server = await useRedis();
});

afterAll(async () => {
  await server?.close();
});

describeRedis('on a Redis server', () => {
  describeStorage('RedisStorage', async (clock) => ({ storage: new RedisStorage({ url: server.url, prefix: freshPrefix(), clock }) }));
  describeStorage('RedisStorage (keyTag: queue)', async (clock) => ({
    storage: new RedisStorage({ url: server.url, prefix: freshPrefix(), keyTag: 'queue', clock }),
  }));
  describeStorage('RedisStorage (keyTag: storage)', async (clock) => ({
    storage: new RedisStorage({ url: server.url, prefix: freshPrefix(), keyTag: 'storage', clock }),
  }));
});

const POLICY = { maxLength: undefined, overflow: 'reject', deadLetter: false, dedupeWindow: 0 } as const;
const CLAIM = { max: 10, leaseMs: 1_000, maxAttempts: 3, deadLetter: false } as const;

const message = newMessage;

/** The first signal `storage` reports that matches; the test timeout fails it if none comes. */
function nextSignal(storage: RedisStorage, match: (signal: StorageSignal) => boolean): Promise<StorageSignal> {
  return new Promise((resolve) => {
    const unwatch = storage.watch((signal) => {
      if (!match(signal)) return;
      unwatch();
      resolve(signal);
    });
  });
}

/**
 * Runs `body` while a queue's due set is a string: every script on that queue then fails
 * on its first command (WRONGTYPE) and changes nothing. Puts the set back afterwards.
 */
async function withBrokenDueSet(prefix: string, queue: string, body: () => Promise<void>): Promise<void> {
  const admin = new Redis(server.url);
  const due = `{${prefix}:${queue}}:${queue}:due`;
  await admin.rename(due, `${due}-saved`);
  await admin.set(due, 'not a sorted set');
  try {
    await body();
  } finally {
    await admin.del(due);
    await admin.rename(`${due}-saved`, due);
    admin.disconnect();
  }
}

/** A resent id (outside the contract: ids are unique per send) is `<id>:<n>` on Redis, `<id>` in memory. */
const withoutResendSuffix = (id: string): string => id.replace(/:\d+$/, '');

describeRedis('RedisStorage', () => {
  /** Two storages on one prefix: two processes sharing queues. */
  async function pair() {
    const clock = new TestClock(1_700_000_000_000);
    const prefix = freshPrefix();
    const a = new RedisStorage({ url: server.url, prefix, clock });
    const b = new RedisStorage({ url: server.url, prefix, clock });
    await Promise.all([a.open(), b.open()]);
    return { clock, prefix, a, b, close: () => Promise.all([a.close(), b.close()]) };
  }

  it('new RedisStorage() - rejects missing, doubled or invalid options with TypeErrors', () => {
    expect(() => new RedisStorage({})).toThrow('Expected exactly one of `options.client`');
    expect(() => new RedisStorage({ url: server.url, client: new Redis({ lazyConnect: true }) })).toThrow('Expected exactly one of');
    expect(() => new RedisStorage({ url: 'localhost:6379' })).toThrow('Expected `options.url` to be a redis:// or rediss:// URL, got "localhost:6379" (string)');
    expect(() => new RedisStorage({ client: {} as Redis })).toThrow('Expected `options.client` to be an ioredis client');
    expect(() => new RedisStorage({ url: server.url, prefix: 'a{b}' })).toThrow('Expected `options.prefix` to be a prefix of 1-100 letters');
    expect(() => new RedisStorage({ url: server.url, prefx: 'x' } as never)).toThrow('Unknown option `options.prefx`');
    expect(() => new RedisStorage({ url: server.url, keyTag: 'slot' as never })).toThrow(
      "Expected `options.keyTag` to be 'family', 'queue', 'storage' or a function (queue) => string, got \"slot\" (string)",
    );
  });

  it('.open() - rejects with ERR_REDIS when nothing listens at the URL', async () => {
    const storage = new RedisStorage({ url: 'redis://127.0.0.1:1' });
    await expect(storage.open()).rejects.toMatchObject({ code: 'ERR_REDIS', message: expect.stringContaining('RedisStorage open failed') });
    await storage.close();
  });

  it('keeps every key of a queue family under one hash tag {prefix:family}, by default', async () => {
    const { a, clock, prefix, close } = await pair();
    const now = clock.now();
    await a.enqueue('jobs', [message('x', now, { group: 'g', dedupeId: 'd', priority: 2 }), message('y', now, { availableAt: now + 10 })], POLICY, now);
    const { delivered } = await a.claim('jobs', CLAIM, now);
    await a.deadLetter('jobs', delivered[0]!.receipt, 'jobs.dlq', { reason: 'rejected' }, now);
    await a.enqueueMany(['jobs::billing', 'jobs::audit'], [message('z', now)], 0, now);
    await a.enqueue('jobs.reply.r1', [message('r', now)], POLICY, now);
    await a.enqueue('other', [message('o', now)], POLICY, now);
    const redis = new Redis(server.url);
    const keys = await redis.keys(`*${prefix}*`);
    redis.disconnect();
    const family = keys.filter((key) => !key.startsWith(`{${prefix}:other}:other:`));
    expect(family.length).toBeGreaterThan(10);
    expect(family.filter((key) => !key.startsWith(`{${prefix}:jobs}:`))).toEqual([]);
    for (const queue of ['jobs', 'jobs.dlq', 'jobs::billing', 'jobs::audit', 'jobs.reply.r1']) {
      expect(keys).toContain(`{${prefix}:jobs}:${queue}:m`);
    }
    expect(keys).toContain(`{${prefix}:other}:other:m`);
    await close();
  });

  it("with keyTag 'queue', keeps every key of a queue under one hash tag {prefix:queue}", async () => {
    const clock = new TestClock(1_700_000_000_000);
    const prefix = freshPrefix();
    const storage = new RedisStorage({ url: server.url, prefix, keyTag: 'queue', clock });
    const now = clock.now();
    await storage.enqueue('jobs', [message('x', now, { group: 'g', dedupeId: 'd', priority: 2 }), message('y', now, { availableAt: now + 10 })], POLICY, now);
    await storage.claim('jobs', CLAIM, now);
    const redis = new Redis(server.url);
    const keys = await redis.keys(`*${prefix}*`);
    redis.disconnect();
    expect(keys.length).toBeGreaterThan(5);
    expect(keys.filter((key) => !key.startsWith(`{${prefix}:jobs}:`))).toEqual([]);
    await storage.close();
  });

  it('with a keyTag function, tags each queue with the group it names, and rejects a tag with braces', async () => {
    const clock = new TestClock(1_700_000_000_000);
    const prefix = freshPrefix();
    const storage = new RedisStorage({ url: server.url, prefix, keyTag: (queue) => (queue.startsWith('t1-') ? 'tenant1' : 'rest'), clock });
    const now = clock.now();
    await storage.enqueue('t1-orders', [message('x', now)], POLICY, now);
    await storage.enqueue('invoices', [message('y', now)], POLICY, now);
    const redis = new Redis(server.url);
    const keys = await redis.keys(`*${prefix}*`);
    redis.disconnect();
    expect(keys).toContain(`{${prefix}:tenant1}:t1-orders:m`);
    expect(keys).toContain(`{${prefix}:rest}:invoices:m`);
    const bad = new RedisStorage({ url: server.url, prefix, keyTag: () => '{bad}', clock });
    await expect(bad.stats('jobs', now)).rejects.toThrow('Expected `options.keyTag("jobs")` to be a string of 1-200 characters without { or }, got "{bad}" (string)');
    await Promise.all([storage.close(), bad.close()]);
  });

  it("with keyTag 'storage', keeps every key of the storage under one hash tag {prefix}", async () => {
    const clock = new TestClock(1_700_000_000_000);
    const prefix = freshPrefix();
    const storage = new RedisStorage({ url: server.url, prefix, keyTag: 'storage', clock });
    const now = clock.now();
    await storage.enqueue('jobs', [message('x', now)], POLICY, now);
    const { delivered } = await storage.claim('jobs', CLAIM, now);
    await storage.deadLetter('jobs', delivered[0]!.receipt, 'jobs.dlq', { reason: 'rejected' }, now);
    await storage.enqueueMany(['a', 'b'], [message('y', now)], 0, now);
    const redis = new Redis(server.url);
    const keys = await redis.keys(`*${prefix}*`);
    const deadLettered = await redis.hkeys(`{${prefix}}:jobs.dlq:m`);
    redis.disconnect();
    expect(deadLettered).toEqual([delivered[0]!.receipt.id]);
    expect(keys.filter((key) => !key.startsWith(`{${prefix}}:`))).toEqual([]);
    await storage.close();
  });

  it('keeps bodies as JSON: undefined stays undefined, a "__proto__" key stays an own property', async () => {
    const { a, clock, close } = await pair();
    const now = clock.now();
    const body = JSON.parse('{"__proto__": {"polluted": true}, "list": [1, "two", null]}') as unknown;
    await a.enqueue('jobs', [message('x', now, { body: undefined }), message('y', now, { body, headers: JSON.parse('{"__proto__": "h"}') })], POLICY, now);
    const { delivered } = await a.claim('jobs', CLAIM, now);
    expect(delivered[0]!.message.body).toBeUndefined();
    const got = delivered[1]!.message;
    expect(Object.getPrototypeOf(got.body)).toBe(Object.prototype);
    expect(Object.hasOwn(got.body as object, '__proto__')).toBe(true);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    expect(Object.hasOwn(got.headers!, '__proto__')).toBe(true);
    await close();
  });

  it('.enqueue() - with dedupeWindow 0, stores every item of a batch even when they share a dedupeId', async () => {
    const { a, clock, close } = await pair();
    const now = clock.now();
    const result = await a.enqueue('jobs', [message('x', now, { dedupeId: 'same' }), message('y', now, { dedupeId: 'same' })], POLICY, now);
    expect(result.results).toEqual([
      { id: 'x', status: 'stored' },
      { id: 'y', status: 'stored' },
    ]);
    await close();
  });

  it('.enqueue() - calls made together are each applied whole and in order, as if made one by one', async () => {
    const { a, clock, close } = await pair();
    const now = clock.now();
    const bounded = { ...POLICY, maxLength: 3 };
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const calls = [
      a.enqueue('jobs', [message('a', now), message('b', now)], bounded, now),
      a.enqueue('jobs', [message('c', now), message('d', now)], bounded, now),
      a.enqueue('jobs', [message('bad', now, { body: cyclic })], bounded, now),
      a.enqueue('jobs', [message('e', now, { dedupeId: 'k' })], { ...bounded, dedupeWindow: 1_000 }, now),
      a.enqueue('jobs', [message('f', now, { dedupeId: 'k' })], { ...bounded, dedupeWindow: 1_000 }, now),
    ];
    const settled = await Promise.allSettled(calls);
    expect(settled.map((s) => (s.status === 'fulfilled' ? [s.value.full, s.value.results] : (s.reason as Error).name))).toEqual([
      [false, [{ id: 'a', status: 'stored' }, { id: 'b', status: 'stored' }]],
      [true, []],
      'TypeError',
      [false, [{ id: 'e', status: 'stored' }]],
      [false, [{ id: 'e', status: 'duplicate' }]],
    ]);
    expect(await a.peek('jobs', 10, now)).toHaveLength(3);
    await close();
  });

  it('.enqueue() - calls merged into one script give what MemoryStorage gives one by one (drop-oldest, groups, TTLs, resent ids)', async () => {
    const clock = new TestClock();
    const memory = new MemoryStorage({ clock });
    const redis = new RedisStorage({ url: server.url, prefix: freshPrefix(), clock });
    const now = clock.now();
    const policy = { maxLength: 4, overflow: 'drop-oldest', deadLetter: 'jobs.dlq', dedupeWindow: 1_000 } as const;
    const calls = [
      [message('a', now), message('b', now, { group: 'g' }), message('c', now, { priority: 2 })],
      [message('d', now, { group: 'g' }), message('a', now)],
      [message('e', now, { expiresAt: now }), message('f', now, { availableAt: now + 50 }), message('g', now, { dedupeId: 'k' })],
      [message('h', now, { dedupeId: 'k' }), message('i', now, { priority: -1 })],
    ];
    const view = async (storage: Storage) => ({
      jobs: (await storage.peek('jobs', 20, now)).map((m) => withoutResendSuffix(m.id)),
      dlq: (await storage.peek('jobs.dlq', 20, now)).map((m) => [withoutResendSuffix(m.id), m.headers?.['x-dead-reason']]),
      stats: await storage.stats('jobs', now),
    });
    const one: unknown[] = [];
    for (const items of calls) {
      const r = await memory.enqueue('jobs', items, policy, now);
      one.push([r.full, r.results.map((x) => ({ ...x, id: withoutResendSuffix(x.id) })), r.dropped.map((d) => withoutResendSuffix(d.message.id))]);
    }
    // Not awaited one by one: the four calls go to Redis as one script.
    const merged = (await Promise.all(calls.map((items) => redis.enqueue('jobs', items, policy, now)))).map((r) => [r.full, r.results.map((x) => ({ ...x, id: withoutResendSuffix(x.id) })), r.dropped.map((d) => withoutResendSuffix(d.message.id))]);
    expect(merged).toEqual(one);
    expect(await view(redis)).toEqual(await view(memory));
    await Promise.all([memory.close(), redis.close()]);
  });

  it('.enqueue() - rejects a body JSON cannot store, and stores nothing', async () => {
    const { a, clock, close } = await pair();
    const now = clock.now();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(a.enqueue('jobs', [message('ok', now), message('bad', now, { body: cyclic })], POLICY, now)).rejects.toThrow(TypeError);
    expect(await a.stats('jobs', now)).toMatchObject({ ready: 0, sent: 0 });
    await close();
  });

  it('.ack() - settles thousands of receipts in one call, each once', async () => {
    const { a, clock, close } = await pair();
    const now = clock.now();
    const n = 2_500;
    await a.enqueue('jobs', Array.from({ length: n }, (_, i) => message(`m${i}`, now)), POLICY, now);
    const { delivered } = await a.claim('jobs', { max: n, leaseMs: 1_000, maxAttempts: 3, deadLetter: false }, now);
    expect(delivered).toHaveLength(n);
    const receipts = delivered.map((d) => d.receipt);
    const settles = await a.ack('jobs', [...receipts, receipts[0]!], now);
    expect(settles.slice(0, n).every((s) => s === 'ok')).toBe(true);
    expect(settles[n]).toBe('missing');
    expect(await a.stats('jobs', now)).toMatchObject({ ready: 0, inflight: 0, acked: n });
    expect(await a.peek('jobs', 10, now)).toEqual([]);
    await close();
  });

  it('keeps every field as sent, whatever it holds (line breaks, "|" in a group, unicode); a dead-letter copy gets the x-dead headers and loses only its dedupeId and TTL', async () => {
    const { a, clock, close } = await pair();
    const now = clock.now();
    const sent = message('odd', now, {
      body: { text: 'a\nb|c', n: [1, 2] },
      headers: { note: 'line\nbreak', 'ü': '∑|∞' },
      priority: 3,
      expiresAt: now + 5_000,
      dedupeId: 'd\n|1',
      group: 'g|h\n',
      correlationId: 'c\n1',
      subject: 'orders.\nnew|x',
    });
    const plain = message('plain', now, { availableAt: now + 10 });
    await a.enqueue('jobs', [sent, plain], { ...POLICY, dedupeWindow: 1_000 }, now);
    expect(await a.peek('jobs', 10, now)).toEqual([{ ...sent, attempt: 0 }]);
    const { delivered } = await a.claim('jobs', CLAIM, now);
    expect(delivered.map((d) => d.message)).toEqual([{ ...sent, attempt: 1 }]);
    clock.advance(20);
    expect(await a.deadLetter('jobs', delivered[0]!.receipt, 'jobs.dlq', { reason: 'rejected', error: 'boom\n|at line 2' }, now + 20)).toBe('ok');
    const [copy] = await a.peek('jobs.dlq', 10, now + 20);
    expect(copy).toEqual({
      ...sent,
      headers: {
        ...sent.headers,
        'x-dead-reason': 'rejected',
        'x-dead-error': 'boom\n|at line 2',
        'x-original-queue': 'jobs',
        'x-attempts': '1',
        'x-dead-at': String(now + 20),
      },
      enqueuedAt: now + 20,
      availableAt: now + 20,
      expiresAt: undefined,
      dedupeId: undefined,
      attempt: 0,
    });
    // The delayed one came due at now + 10 and keeps its fields too.
    const later = await a.claim('jobs', CLAIM, now + 20);
    expect(later.delivered.map((d) => d.message)).toEqual([{ ...plain, availableAt: now + 10, attempt: 1 }]);
    await close();
  });

  it('dead-letters a message whose headers Lua cannot decode (a lone surrogate) by hand and past maxAttempts, keeping them, and strands nothing', async () => {
    const { a, clock, close } = await pair();
    const now = clock.now();
    const headers = { odd: 'x\ud800y', key: 'v' };
    await a.enqueue('jobs', [message('a', now, { headers }), message('b', now, { headers })], POLICY, now);
    const toDlq = { ...CLAIM, max: 1, maxAttempts: 1, deadLetter: 'jobs.dlq' };
    const first = await a.claim('jobs', toDlq, now);
    expect(await a.deadLetter('jobs', first.delivered[0]!.receipt, 'jobs.dlq', { reason: 'rejected' }, now)).toBe('ok');
    // 'b' is leased on its last attempt; once the lease runs out, the next claim dead-letters it.
    expect((await a.claim('jobs', toDlq, now)).delivered.map((d) => d.message.id)).toEqual(['b']);
    const later = now + CLAIM.leaseMs;
    const again = await a.claim('jobs', toDlq, later);
    expect(again.deadLettered.map((d) => [d.message.id, d.reason, d.message.headers])).toEqual([['b', 'max-attempts', headers]]);
    const dead = (queue: string, reason: string, at: number, error?: string) => ({
      ...headers,
      'x-dead-reason': reason,
      ...(error === undefined ? {} : { 'x-dead-error': error }),
      'x-original-queue': queue,
      'x-attempts': '1',
      'x-dead-at': String(at),
    });
    expect((await a.peek('jobs.dlq', 10, later)).map((m) => [m.id, m.headers])).toEqual([
      ['a', dead('jobs', 'rejected', now)],
      ['b', dead('jobs', 'max-attempts', later, 'lease expired')],
    ]);
    expect(await a.stats('jobs', later)).toMatchObject({ ready: 0, inflight: 0, deadLettered: 2 });
    // Dead-lettered once more, a copy's own x-dead headers give way to the new ones.
    const copy = await a.claim('jobs.dlq', { ...CLAIM, max: 1 }, later);
    expect(await a.deadLetter('jobs.dlq', copy.delivered[0]!.receipt, 'jobs.parked', { reason: 'parked', error: 'by hand' }, later)).toBe('ok');
    expect((await a.peek('jobs.parked', 10, later)).map((m) => m.headers)).toEqual([dead('jobs.dlq', 'parked', later, 'by hand')]);
    await close();
  });

  it('.ack() and .claim() made in one turn on one queue go to Redis as one script, the acks applied first', async () => {
    const { a, clock, close } = await pair();
    const now = clock.now();
    const admin = new Redis(server.url);
    // Scripts Redis ran (a script new to the connection goes out once more, as EVAL).
    const scripts = async () => {
      const info = await admin.info('commandstats');
      const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
      return calls('evalsha') + calls('eval');
    };
    await a.enqueue('jobs', ['a', 'b', 'c', 'd'].map((id) => message(id, now)), POLICY, now);
    const first = await a.claim('jobs', { ...CLAIM, max: 2 }, now);
    // Once through the merged path, so that the script is known to the connection.
    await Promise.all([a.ack('warm-up', [{ id: 'none', token: 1 }], now), a.claim('warm-up', CLAIM, now)]);
    const before = await scripts();
    const [settles, next] = await Promise.all([
      a.ack('jobs', [first.delivered[0]!.receipt, first.delivered[0]!.receipt, { id: 'c', token: 1 }], now),
      // Room for two more only once the acks are applied: the script runs them first.
      a.claim('jobs', { ...CLAIM, max: 3 }, now),
    ]);
    expect(await scripts()).toBe(before + 1);
    expect(settles).toEqual(['ok', 'missing', 'stale']);
    expect(next.delivered.map((d) => d.message.id)).toEqual(['c', 'd']);
    expect(await a.stats('jobs', now)).toMatchObject({ ready: 0, inflight: 3, acked: 1 });
    // An ack alone, two acks in one turn, and an ack followed by a claim at another time: each by itself, in order.
    const [alone, again] = await Promise.all([a.ack('jobs', [next.delivered[0]!.receipt], now), a.ack('jobs', [next.delivered[0]!.receipt], now)]);
    expect([alone, again]).toEqual([['ok'], ['missing']]);
    const [late, none] = await Promise.all([a.ack('jobs', [next.delivered[1]!.receipt], now), a.claim('jobs', CLAIM, now + 1)]);
    expect([late, none.delivered]).toEqual([['ok'], []]);
    expect(await a.stats('jobs', now + 1)).toMatchObject({ inflight: 1, acked: 3 });
    admin.disconnect();
    await close();
  });

  it('.enqueue() - held for the end of the turn, still reaches Redis before any operation called after it', async () => {
    const { a, clock, close } = await pair();
    const now = clock.now();
    const [stored, claimed, more] = await Promise.all([
      a.enqueue('jobs', [message('x', now)], POLICY, now),
      a.claim('jobs', CLAIM, now),
      a.enqueue('jobs', [message('y', now)], POLICY, now),
    ]);
    expect(stored.results).toEqual([{ id: 'x', status: 'stored' }]);
    expect(claimed.delivered.map((d) => d.message.id)).toEqual(['x']);
    expect(more.results).toEqual([{ id: 'y', status: 'stored' }]);
    expect(await a.stats('jobs', now)).toMatchObject({ ready: 1, inflight: 1 });
    await close();
  });

  it('.ack() - held for the end of the turn, still reaches Redis before any operation called after it', async () => {
    const { a, clock, close } = await pair();
    const now = clock.now();
    await a.enqueue('jobs', ['a', 'b', 'c'].map((id) => message(id, now)), POLICY, now);
    const { delivered } = await a.claim('jobs', CLAIM, now);
    const [acked, stats, released, later] = await Promise.all([
      a.ack('jobs', [delivered[0]!.receipt], now),
      a.stats('jobs', now),
      a.release('jobs', delivered[1]!.receipt, now, now),
      a.ack('jobs', [delivered[2]!.receipt], now),
    ]);
    expect([acked, released, later]).toEqual([['ok'], 'ok', ['ok']]);
    expect(stats).toMatchObject({ inflight: 2, acked: 1, retried: 0 });
    expect(await a.stats('jobs', now)).toMatchObject({ ready: 1, inflight: 0, acked: 2, retried: 1 });
    await close();
  });

  it('.ack() - made in one turn with a claim that fails, rejects with the same error', async () => {
    const { a, clock, prefix, close } = await pair();
    const now = clock.now();
    await a.enqueue('jobs', [message('a', now)], POLICY, now);
    const { delivered } = await a.claim('jobs', CLAIM, now);
    await withBrokenDueSet(prefix, 'jobs', async () => {
      const [acked, claimed] = await Promise.allSettled([a.ack('jobs', [delivered[0]!.receipt], now), a.claim('jobs', CLAIM, now)]);
      expect(acked).toMatchObject({ status: 'rejected', reason: { code: 'ERR_REDIS', message: expect.stringContaining('WRONGTYPE') } });
      expect(claimed).toMatchObject({ status: 'rejected', reason: { code: 'ERR_REDIS' } });
    });
    // Nothing was applied: the lease still stands and the ack goes through now.
    expect(await a.ack('jobs', [delivered[0]!.receipt], now)).toEqual(['ok']);
    await close();
  });

  it('.enqueue() - sends of one turn whose id is taken, or repeated among them, are each kept under an id of their own', async () => {
    const { a, clock, close } = await pair();
    const now = clock.now();
    await a.enqueue('jobs', [message('x', now)], POLICY, now);
    const results = await Promise.all([
      a.enqueue('jobs', [message('x', now)], POLICY, now),
      a.enqueue('jobs', [message('y', now), message('y', now)], POLICY, now),
      a.enqueue('jobs', [message('z', now)], POLICY, now),
    ]);
    expect(results.map((r) => r.results.map((x) => x.status))).toEqual([['stored'], ['stored', 'stored'], ['stored']]);
    const ids = (await a.peek('jobs', 10, now)).map((m) => m.id);
    expect(ids.map(withoutResendSuffix)).toEqual(['x', 'x', 'y', 'y', 'z']);
    expect(new Set(ids).size).toBe(5);
    const { delivered } = await a.claim('jobs', CLAIM, now);
    expect(await a.ack('jobs', delivered.map((d) => d.receipt), now)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    await close();
  });

  it('two storages on one prefix share a queue: what one enqueues, the other claims, and acks settle once', async () => {
    const { a, b, clock, close } = await pair();
    const now = clock.now();
    await a.enqueue('jobs', [message('x', now), message('y', now)], POLICY, now);
    const first = await b.claim('jobs', { ...CLAIM, max: 1 }, now);
    const second = await a.claim('jobs', { ...CLAIM, max: 1 }, now);
    expect([first.delivered[0]!.message.id, second.delivered[0]!.message.id]).toEqual(['x', 'y']);
    expect(await a.ack('jobs', [first.delivered[0]!.receipt], now)).toEqual(['ok']);
    expect(await b.ack('jobs', [first.delivered[0]!.receipt], now)).toEqual(['missing']);
    expect(await b.stats('jobs', now)).toMatchObject({ ready: 0, inflight: 1, acked: 1 });
    await close();
  });

  it('.watch() - reports "ready" for work another storage enqueued (pub/sub)', async () => {
    const { a, b, clock, close } = await pair();
    const ready = nextSignal(b, (s) => s.type === 'ready' && s.queue === 'jobs');
    await a.enqueue('jobs', [message('x', clock.now())], POLICY, clock.now());
    expect(await ready).toEqual({ type: 'ready', queue: 'jobs' });
    await close();
  });

  it('.watch() - reports "due" for a delay another storage set on a queue this one uses', async () => {
    const { a, b, clock, close } = await pair();
    const now = clock.now();
    await b.stats('jobs', now);
    const due = nextSignal(b, (s) => s.type === 'due' && s.at !== undefined);
    await a.enqueue('jobs', [message('x', now, { availableAt: now + 5_000 })], POLICY, now);
    expect(await due).toEqual({ type: 'due', at: now + 5_000 });
    await close();
  });

  it('a consumer on one storage handles what a Queue on another sends, delayed work included', async () => {
    const { a, b, clock, close } = await pair();
    const sender = new Queue<string>('jobs', { storage: a });
    const receiver = new Queue<string>('jobs', { storage: b });
    const seen: string[] = [];
    let done!: () => void;
    const bothSeen = new Promise<void>((resolve) => (done = resolve));
    receiver.consume(async (msg) => {
      seen.push(msg.body);
      if (seen.length === 2) done();
    });
    await clock.settle();
    await sender.send('now');
    await sender.send('later', { delay: 1_000 });
    await clock.advance(1_000);
    await bothSeen;
    expect(seen).toEqual(['now', 'later']);
    await receiver.close();
    await close();
  });

  it('a consumer whose next claim goes out behind its acks handles every message once and leaves nothing leased', async () => {
    const { a, clock, close } = await pair();
    const queue = new Queue<number>('jobs', { storage: a });
    await queue.sendBatch(Array.from({ length: 40 }, (_, i) => ({ body: i })));
    const handled: number[] = [];
    let done!: () => void;
    const allHandled = new Promise<void>((resolve) => (done = resolve));
    const consumer = queue.consume(
      async (msg) => {
        handled.push(msg.body);
        if (handled.length === 40) done();
      },
      { concurrency: 4 },
    );
    await clock.settle();
    await allHandled;
    await consumer.stop();
    // Each message delivered once and acked once: no claim overtook an ack.
    expect(handled.sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(await queue.stats()).toMatchObject({ ready: 0, inflight: 0, delivered: 40, acked: 40 });
    await queue.close();
    await close();
  });

  it('.idle() - resolves in one process when another process acks the last message', async () => {
    const { a, b, clock, close } = await pair();
    const worker = new Queue<string>('jobs', { storage: a });
    const watcher = new Queue<string>('jobs', { storage: b });
    await worker.send('x');
    const [msg] = await worker.receive();
    let idle = false;
    const drained = watcher.idle().then(() => (idle = true));
    await clock.settle();
    expect(idle).toBe(false);
    await msg!.ack();
    await drained;
    expect(idle).toBe(true);
    await close();
  });

  it('.claim() - a lease another storage took and let run out is delivered again', async () => {
    const { a, b, clock, close } = await pair();
    const now = clock.now();
    await a.enqueue('jobs', [message('x', now)], POLICY, now);
    const { delivered } = await a.claim('jobs', CLAIM, now);
    await clock.advance(1_000);
    const again = await b.claim('jobs', CLAIM, clock.now());
    expect(again.delivered.map((d) => [d.message.id, d.message.attempt])).toEqual([['x', 2]]);
    expect(await a.ack('jobs', [delivered[0]!.receipt], clock.now())).toEqual(['stale']);
    await close();
  });

  it('.tick() - after a failed tick, asks to be ticked a second later rather than at once', async () => {
    const clock = new TestClock(1_700_000_000_000);
    const prefix = freshPrefix();
    const storage = new RedisStorage({ url: server.url, prefix, clock });
    const now = clock.now();
    await storage.enqueue('jobs', [message('x', now, { availableAt: now + 100 })], POLICY, now);
    await withBrokenDueSet(prefix, 'jobs', async () => {
      const signal = nextSignal(storage, (s) => s.type === 'due');
      await expect(storage.tick(now + 100)).rejects.toMatchObject({ code: 'ERR_REDIS', message: expect.stringContaining('WRONGTYPE') });
      expect(await signal).toEqual({ type: 'due', at: now + 1_100 });
    });
    await storage.tick(now + 1_100);
    expect(await storage.stats('jobs', now + 1_100)).toMatchObject({ ready: 1, delayed: 0 });
    await storage.close();
  });

  it('.close() - leaves a client it was given open', async () => {
    const client = new Redis(server.url);
    const storage = new RedisStorage({ client, prefix: freshPrefix() });
    await storage.stats('jobs', 0);
    await storage.close();
    expect(await client.ping()).toBe('PONG');
    await expect(storage.stats('jobs', 0)).rejects.toBeInstanceOf(ClosedError);
    client.disconnect();
  });
});

describeOwnRedis('RedisStorage: connection loss and restart', () => {
  it('operations reject with ERR_REDIS while Redis is down; a waiting consumer resumes when it is back, and nothing is lost (AOF)', async () => {
    const aof = await startRedis({ appendOnly: true });
    const storage = new RedisStorage({ url: aof.url, prefix: 'restart' });
    const queue = new Queue<number>('jobs', { storage, visibilityTimeout: 500 });
    const errors: Error[] = [];
    queue.on('error', (error) => errors.push(error));
    try {
      const total = 400;
      const handled = new Set<number>();
      let reached!: () => void;
      let target = 100;
      let progress = new Promise<void>((resolve) => (reached = resolve));
      const consumer = queue.consume(
        async (msg) => {
          handled.add(msg.body);
          if (handled.size >= target) reached();
        },
        { concurrency: 4 },
      );
      const ids = await queue.sendBatch(Array.from({ length: total }, (_, i) => ({ body: i })));
      expect(ids).toHaveLength(total);
      await progress;

      await aof.stop('SIGKILL');
      const down = await queue.send(-1).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(down).toBeInstanceOf(PocketMQError);
      expect(down).toMatchObject({ code: 'ERR_REDIS', message: expect.stringMatching(/RedisStorage (enqueue|open)/) });

      target = total;
      progress = new Promise<void>((resolve) => (reached = resolve));
      if (handled.size >= target) reached();
      await aof.restart();
      await progress;
      // Whatever was in flight at the crash comes back after its lease; wait for those acks too.
      let stats = await queue.stats();
      while (stats.ready + stats.delayed + stats.inflight > 0) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        stats = await queue.stats();
      }
      await consumer.stop();
      expect(handled.size).toBe(total);
      expect(stats).toMatchObject({ sent: total, acked: total, deadLettered: 0 });
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      await queue.close();
      await storage.close();
      await aof.close();
    }
  }, 60_000);
});

/**
 * Differential test: random operation sequences run on RedisStorage and on
 * MemoryStorage (the engine, itself checked against a model in
 * test/engine.property.test.ts) with the same `now`s must give the same results.
 */
describeRedis('RedisStorage: same results as MemoryStorage', () => {
  const RUNS = Number(process.env.POCKETMQ_PROPERTY_RUNS ?? 150);

  type Op =
    | { kind: 'enqueue'; items: { priority: number; delay: number; ttl: number; group: number; dedupe: number; reuse: boolean }[]; maxLength: number; overflow: 'reject' | 'drop-oldest' }
    | { kind: 'fanout'; priority: number; delay: number }
    | { kind: 'claim'; queue: 'q' | 'q.dlq' | 'fan'; max: number; lease: number; maxAttempts: number }
    | { kind: 'settle'; how: 'ack' | 'release' | 'deadLetter' | 'extend'; pick: number; ms: number }
    | { kind: 'ackMany'; picks: number[] }
    | { kind: 'advance'; ms: number }
    | { kind: 'purge' }
    | { kind: 'look'; queue: 'q' | 'q.dlq' | 'fan' };

  const item = fc.record({
    priority: fc.integer({ min: -1, max: 2 }),
    delay: fc.constantFrom(0, 0, 30, 100),
    ttl: fc.constantFrom(0, 0, 50, 200),
    group: fc.integer({ min: 0, max: 2 }),
    dedupe: fc.integer({ min: 0, max: 3 }),
    // An id sent before (a send retried after a lost answer): stored under a new id.
    reuse: fc.constantFrom(false, false, false, false, true),
  });
  const queueName = fc.constantFrom('q' as const, 'q' as const, 'q.dlq' as const, 'fan' as const);
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('enqueue' as const), items: fc.array(item, { minLength: 1, maxLength: 3 }), maxLength: fc.constantFrom(0, 0, 3, 6), overflow: fc.constantFrom('reject' as const, 'drop-oldest' as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('fanout' as const), priority: fc.integer({ min: 0, max: 1 }), delay: fc.constantFrom(0, 40) }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('claim' as const), queue: queueName, max: fc.integer({ min: 1, max: 3 }), lease: fc.constantFrom(20, 100), maxAttempts: fc.integer({ min: 1, max: 3 }) }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('settle' as const), how: fc.constantFrom('ack' as const, 'release' as const, 'deadLetter' as const, 'extend' as const), pick: fc.nat(), ms: fc.constantFrom(0, 25, 150) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('ackMany' as const), picks: fc.array(fc.nat(), { minLength: 1, maxLength: 5 }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(0, 10, 25, 60, 120) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('purge' as const) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('look' as const), queue: queueName }) },
  );

  /** Runs `ops` on `storage`; returns what every operation reported, in a form both storages share. */
  async function play(storage: Storage, ops: readonly Op[]): Promise<unknown[]> {
    const out: unknown[] = [];
    const expired: string[] = [];
    storage.watch((signal) => {
      if (signal.type === 'expired') for (const m of signal.messages) expired.push(`${signal.queue}/${m.id}`);
    });
    const leases: { queue: string; receipt: Receipt }[] = [];
    let now = 1_000_000;
    let ids = 0;
    // Ids sent more than once: settling an old receipt of one is 'stale' on Redis and 'missing' in memory (outside the contract).
    const resent = new Set<string>();
    const outcome = (receipt: Receipt, settle: unknown) => (resent.has(receipt.id.replace(/:\d+$/, '')) && settle !== 'ok' ? 'not-ok' : settle);
    const view = (m: { id: string; attempt: number; body: unknown; priority: number; headers?: Readonly<Record<string, string>> | undefined }) =>
      [m.id, m.attempt, m.body, m.priority, m.headers?.['x-dead-reason'] ?? null];
    for (const o of ops) {
      switch (o.kind) {
        case 'enqueue': {
          const items: NewMessage[] = o.items.map((i) => ({
            ...message(i.reuse && ids > 0 ? (resent.add(`m${ids}`), `m${ids}`) : `m${++ids}`, now, { priority: i.priority, availableAt: now + i.delay }),
            expiresAt: i.ttl === 0 ? undefined : now + i.ttl,
            group: i.group === 0 ? undefined : `g${i.group}`,
            dedupeId: i.dedupe === 0 ? undefined : `d${i.dedupe}`,
          }));
          const policy = { maxLength: o.maxLength === 0 ? undefined : o.maxLength, overflow: o.overflow, deadLetter: 'q.dlq', dedupeWindow: 80 } as const;
          const r = await storage.enqueue('q', items, policy, now);
          out.push(['enqueue', r.full, r.results, r.dropped.map((d) => [view(d.message), d.reason, d.target])]);
          break;
        }
        case 'fanout':
          await storage.enqueueMany(['q', 'fan'], [message(`m${++ids}`, now, { priority: o.priority, availableAt: now + o.delay })], 80, now);
          out.push(['fanout']);
          break;
        case 'claim': {
          const r = await storage.claim(o.queue, { max: o.max, leaseMs: o.lease, maxAttempts: o.maxAttempts, deadLetter: o.queue === 'q' ? 'q.dlq' : false }, now);
          for (const d of r.delivered) leases.push({ queue: o.queue, receipt: d.receipt });
          out.push(['claim', r.delivered.map((d) => view(d.message)), r.deadLettered.map((d) => [view(d.message), d.reason, d.target])]);
          break;
        }
        case 'settle': {
          if (leases.length === 0) break;
          const { queue, receipt } = leases[o.pick % leases.length]!;
          let settle: unknown;
          if (o.how === 'ack') settle = await storage.ack(queue, [receipt], now);
          else if (o.how === 'release') settle = await storage.release(queue, receipt, now + o.ms, now);
          else if (o.how === 'deadLetter') settle = await storage.deadLetter(queue, receipt, queue === 'q' ? 'q.dlq' : false, { reason: 'rejected', error: 'boom' }, now);
          else settle = await storage.extend(queue, receipt, now + o.ms, now);
          out.push([o.how, outcome(receipt, settle)]);
          break;
        }
        case 'ackMany': {
          // Several receipts of one queue in one call, repeats and settled ones included.
          if (leases.length === 0) break;
          const picked = o.picks.map((k) => leases[k % leases.length]!);
          const queue = picked[0]!.queue;
          const receipts = picked.filter((l) => l.queue === queue).map((l) => l.receipt);
          out.push(['ackMany', (await storage.ack(queue, receipts, now)).map((settle, k) => outcome(receipts[k]!, settle))]);
          break;
        }
        case 'advance':
          now += o.ms;
          await storage.tick(now);
          out.push(['advance', expired.splice(0).sort()]);
          break;
        case 'purge':
          out.push(['purge', await storage.purge('q', now)]);
          break;
        case 'look': {
          const peeked = await storage.peek(o.queue, 50, now);
          out.push(['look', await storage.stats(o.queue, now), peeked.map(view)]);
          break;
        }
      }
    }
    for (const queue of ['q', 'q.dlq', 'fan']) out.push(['end', queue, await storage.stats(queue, now), (await storage.peek(queue, 100, now)).map(view)]);
    out.push(['expired', expired.sort()]);
    return out;
  }

  /**
   * Ids are unique per send; an id sent again is outside the contract. Redis stores it
   * under `<id>:<n>` (a send retried after a reconnect must not overwrite the first), the
   * memory engine keeps it as is unless the queue holds dead-letter copies: compare ids
   * without that suffix.
   */
  const sameIds = (out: unknown[]): unknown => JSON.parse(JSON.stringify(out).replace(/(m\d+):\d+/g, '$1'));

  it('random sequences of every operation agree, result by result', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), async (ops) => {
        const memory = new MemoryStorage({ clock: new TestClock() });
        const redis = new RedisStorage({ url: server.url, prefix: freshPrefix(), clock: new TestClock() });
        try {
          expect(sameIds(await play(redis, ops))).toEqual(sameIds(await play(memory, ops)));
        } finally {
          await Promise.all([memory.close(), redis.close()]);
        }
      }),
      { numRuns: RUNS },
    );
  }, 120_000);
});

describeOwnRedis('RedisStorage: closing while Redis is down', () => {
  it('.close() - resolves while the server is gone, without waiting for a reconnect', async () => {
    const lonely = await startRedis();
    const storage = new RedisStorage({ url: lonely.url, prefix: 'gone' });
    await storage.open();
    await lonely.stop('SIGKILL');
    await storage.close();
    await expect(storage.stats('jobs', 0)).rejects.toBeInstanceOf(ClosedError);
    await lonely.close();
  });
});
