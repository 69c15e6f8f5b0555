import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from '../src/queue.js';
import { queueFamily, RedisStorage } from '../src/redis.js';
import { RequestReply } from '../src/request-reply.js';
import { Topic } from '../src/topic.js';
import { TestClock } from '../src/test-clock.js';
import { newMessage } from './helpers/new-message.js';
import { startRedisCluster, type RedisCluster } from './helpers/redis-cluster.js';
import { describeStorage } from './storage-contract.js';

let cluster: RedisCluster;
let prefixes = 0;
/** A prefix no other test uses: each test sees an empty storage on the shared cluster. */
const freshPrefix = () => `c${process.pid}-${++prefixes}`;

beforeAll(async () => {
  cluster = await startRedisCluster();
});

afterAll(async () => {
  await cluster?.close();
});

describeStorage('RedisStorage on a 3-node Redis Cluster', async (clock) => {
  const client = cluster.client();
  return { storage: new RedisStorage({ client, prefix: freshPrefix(), clock }), cleanup: async () => void (await client.quit()) };
});

const POLICY = { maxLength: undefined, overflow: 'reject', deadLetter: false, dedupeWindow: 0 } as const;
const CLAIM = { max: 10, leaseMs: 1_000, maxAttempts: 3, deadLetter: false } as const;

/** The port of the node that serves `key`'s slot, asked of the nodes themselves. */
async function nodeOf(key: string): Promise<number> {
  const first = cluster.node(cluster.ports[0]!);
  const slot = (await first.cluster('KEYSLOT', key)) as number;
  const shard = (await first.cluster('SLOTS')).find(([from, to]) => slot >= from && slot <= to);
  if (!shard?.[2]) throw new Error(`No node serves slot ${slot}`);
  return shard[2][1];
}

/** Every key of `prefix` on every node, with the node that holds it. */
async function keysByNode(prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const port of cluster.ports) {
    for (const key of await cluster.node(port).keys(`*${prefix}*`)) out.set(key, port);
  }
  return out;
}

/** Resolves once `condition` holds, checking every few ms; the test timeout fails it otherwise. */
async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('RedisStorage on Redis Cluster', () => {
  const clients: Cluster[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.quit()));
  });
  function storage(prefix: string, options: Partial<ConstructorParameters<typeof RedisStorage>[0]> = {}): RedisStorage {
    const client = cluster.client();
    clients.push(client);
    return new RedisStorage({ client, prefix, ...options });
  }

  it('queueFamily() - is the name up to its first . or :', () => {
    expect(['orders', 'orders.dlq', 'orders:billing', 'orders:billing.dlq', 'orders::subscriptions', 'orders.reply.abc', 'a.b:c', '.odd'].map(queueFamily)).toEqual([
      'orders',
      'orders',
      'orders',
      'orders',
      'orders',
      'orders',
      'a',
      '.odd',
    ]);
  });

  it('spreads queue families over the nodes by default', async () => {
    const clock = new TestClock(1_700_000_000_000);
    const prefix = freshPrefix();
    const s = storage(prefix, { clock });
    const families = ['orders', 'invoices', 'emails', 'reports', 'users', 'payments', 'shipping', 'search'];
    const now = clock.now();
    for (const family of families) await s.enqueue(family, [newMessage('x', now)], POLICY, now);
    const byNode = await keysByNode(prefix);
    const nodes = new Set<number>();
    for (const family of families) {
      const key = `{${prefix}:${family}}:${family}:m`;
      expect(byNode.get(key)).toBe(await nodeOf(key));
      nodes.add(byNode.get(key)!);
    }
    expect(nodes.size).toBeGreaterThanOrEqual(2);
    await s.close();
  });

  it('keeps a queue, its dead-letter queue, a topic named after it with its subscriptions, and its reply queues in one slot', async () => {
    const prefix = freshPrefix();
    const s = storage(prefix);
    const shop = new Queue<string>('shop', { storage: s, maxAttempts: 1 });
    const dead = new Promise<string>((resolve) => shop.on('dead', (_msg, reason) => resolve(reason)));
    const worker = shop.consume(() => {
      throw new Error('no stock');
    });
    await shop.send('order-1');
    expect(await dead).toBe('max-attempts');
    await worker.stop();
    const dlq = new Queue<string>('shop.dlq', { storage: s });
    const [failed] = await dlq.receive({ wait: 5_000 });
    expect([failed!.body, failed!.headers['x-original-queue']]).toEqual(['order-1', 'shop']);
    await failed!.ack();

    const events = new Topic<string>('shop.events', { storage: s });
    const got: string[] = [];
    const both = new Promise<void>((resolve) => {
      const take = (name: string) => async (msg: { body: string }) => {
        got.push(`${name}:${msg.body}`);
        if (got.length === 2) resolve();
      };
      events.subscribe('billing', take('billing'));
      events.subscribe('audit', take('audit'));
    });
    await events.publish('placed');
    await both;
    expect(got.sort()).toEqual(['audit:placed', 'billing:placed']);

    const pricing = new RequestReply<number, number>('shop.pricing', { storage: s });
    pricing.serve((n) => n * 2);
    expect(await pricing.request(21, { timeout: 5_000 })).toBe(42);

    const byNode = await keysByNode(prefix);
    const slots = new Set<number>();
    for (const key of byNode.keys()) slots.add((await cluster.node(cluster.ports[0]!).cluster('KEYSLOT', key)) as number);
    const queues = new Set([...byNode.keys()].map((key) => key.slice(key.indexOf('}:') + 2).replace(/:(m|b|s|due|pris|r:.*|dd|ddx|g:.*)$/, '')));
    expect([...queues].sort()).toEqual(
      expect.arrayContaining(['shop', 'shop.dlq', 'shop.events:billing', 'shop.events:audit', 'shop.events::subscriptions', 'shop.pricing', pricing.replyQueue]),
    );
    expect(slots.size).toBe(1);
    await Promise.all([events.close(), pricing.close(), shop.close(), dlq.close()]);
    await s.close();
  });

  it('rejects an operation across families with ERR_REDIS_CROSS_SLOT naming both queues, and changes nothing', async () => {
    const clock = new TestClock(1_700_000_000_000);
    const s = storage(freshPrefix(), { clock });
    const now = clock.now();
    await s.enqueue('jobs', [newMessage('a', now)], POLICY, now);
    const crossSlot = {
      code: 'ERR_REDIS_CROSS_SLOT',
      message: expect.stringMatching(/"jobs" \(tag \{.*:jobs\}\) and "failed" \(tag \{.*:failed\}\) are in different Redis Cluster slots.*first '\.' or ':'/),
    };
    await expect(s.claim('jobs', { ...CLAIM, deadLetter: 'failed' }, now)).rejects.toMatchObject(crossSlot);
    expect(await s.stats('jobs', now)).toMatchObject({ ready: 1, inflight: 0 });
    const { delivered } = await s.claim('jobs', CLAIM, now);
    await expect(s.deadLetter('jobs', delivered[0]!.receipt, 'failed', { reason: 'rejected' }, now)).rejects.toMatchObject(crossSlot);
    expect(await s.stats('jobs', now)).toMatchObject({ inflight: 1, deadLettered: 0 });
    await expect(s.enqueue('jobs', [newMessage('b', now)], { ...POLICY, maxLength: 1, overflow: 'drop-oldest', deadLetter: 'failed' }, now)).rejects.toMatchObject(crossSlot);
    expect(await s.stats('jobs', now)).toMatchObject({ ready: 0, inflight: 1, sent: 1 });
    const orders = new Queue<string>('orders', { storage: s, deadLetter: 'failed' });
    await orders.send('kept');
    await expect(orders.receive()).rejects.toMatchObject({ code: 'ERR_REDIS_CROSS_SLOT', message: expect.stringContaining('"orders"') });
    expect(await orders.stats()).toMatchObject({ ready: 1, inflight: 0 });
    await orders.close();
    await s.close();
  });

  it('redrives within a family, rejects a redrive to another family with ERR_REDIS_CROSS_SLOT moving nothing, and lists queues of every node', async () => {
    const clock = new TestClock(1_700_000_000_000);
    const s = storage(freshPrefix(), { clock });
    const now = clock.now();
    const dead = (id: string) => newMessage(id, now, { headers: { 'x-original-queue': 'orders' } });
    await s.enqueue('orders.dlq', [dead('a'), dead('b')], POLICY, now);
    await s.enqueue('invoices', [newMessage('i', now)], POLICY, now);
    const dlq = new Queue('orders.dlq', { storage: s });
    await expect(dlq.redrive({ to: 'invoices' })).rejects.toMatchObject({ code: 'ERR_REDIS_CROSS_SLOT', message: expect.stringContaining('"invoices"') });
    expect(await s.stats('orders.dlq', now)).toMatchObject({ ready: 2 });
    expect(await dlq.redrive({ max: 1 })).toBe(1);
    expect((await s.peek('orders', 10, now)).map((m) => m.id)).toEqual(['a']);
    expect(await s.queues(now)).toEqual(['invoices', 'orders', 'orders.dlq']);
    await dlq.close();
    await s.close();
  });

  it("with keyTag 'queue', rejects dead-lettering into another queue with ERR_REDIS_CROSS_SLOT rather than Redis's CROSSSLOT", async () => {
    const clock = new TestClock(1_700_000_000_000);
    const s = storage(freshPrefix(), { clock, keyTag: 'queue' });
    const now = clock.now();
    await s.enqueue('jobs', [newMessage('a', now)], POLICY, now);
    await expect(s.claim('jobs', { ...CLAIM, deadLetter: 'jobs.dlq' }, now)).rejects.toMatchObject({
      code: 'ERR_REDIS_CROSS_SLOT',
      message: expect.stringContaining("with keyTag 'queue' every queue has a slot of its own"),
    });
    expect(await s.stats('jobs', now)).toMatchObject({ ready: 1 });
    await s.close();
  });

  it('fans a publish out to subscriptions in several slots, one script per slot', async () => {
    const clock = new TestClock(1_700_000_000_000);
    const s = storage(freshPrefix(), { clock, keyTag: 'queue' });
    const now = clock.now();
    const queues = ['a1', 'b2', 'c3', 'd4'];
    await s.enqueueMany(queues, [newMessage('m', now)], 0, now);
    for (const queue of queues) expect((await s.claim(queue, CLAIM, now)).delivered.map((d) => d.message.id)).toEqual(['m']);
    await s.close();
  });

  it('wakes a waiting consumer in another process whatever node its queue lives on', async () => {
    const prefix = freshPrefix();
    const [sender, waiter] = [storage(prefix), storage(prefix)];
    const admin = cluster.client();
    clients.push(admin);
    // The prefix is random, so a fixed list of names can miss a node (12 names did, about
    // once in 40 runs): try names until each of the three nodes has one.
    const byNode = new Map<number, string>();
    for (let i = 0; byNode.size < 3 && i < 1_000; i++) {
      const name = `queue${i}`;
      const node = await nodeOf(`{${prefix}:${name}}:${name}:m`);
      if (!byNode.has(node)) byNode.set(node, name);
    }
    expect(byNode.size).toBe(3);
    for (const name of byNode.values()) {
      const waiting = new Queue<string>(name, { storage: waiter }).receive({ wait: 20_000 });
      // Every script counts the queue's version: once it exists, the waiter's claim found nothing
      // before the send, so only the wake-up can deliver the message before the wait ends.
      await until(async () => (await admin.hget(`{${prefix}:${name}}:${name}:s`, 'v')) !== null);
      await new Queue<string>(name, { storage: sender }).send(`to ${name}`);
      const [msg] = await waiting;
      expect(msg?.body).toBe(`to ${name}`);
      await msg!.ack();
    }
    await Promise.all([sender.close(), waiter.close()]);
  });
});
