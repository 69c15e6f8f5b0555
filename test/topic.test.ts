import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FileStorage } from '../src/file.js';
import { RedisStorage } from '../src/redis.js';
import { ClosedError, DEAD_LETTER_HEADERS, MemoryStorage, type MessageInfo, Queue, Topic, type TopicOptions } from '../src/index.js';
import type { Storage } from '../src/storage/storage.js';
import { TestClock } from '../src/testing.js';
import { newId } from '../src/ids.js';
import { newMessage } from './helpers/new-message.js';
import { type RedisServer, redisSkipReason, useRedis } from './helpers/redis-server.js';

function setup<T = unknown>(options: Omit<TopicOptions, 'storage'> = {}, name = 'orders') {
  const clock = new TestClock(1_000);
  const storage = new MemoryStorage({ clock });
  const topic = new Topic<T>(name, { storage, ...options });
  return { clock, storage, topic };
}

/** What another process's subscribe() appends to topic "orders"'s record queue, which no handle can open. */
async function appendRecord(storage: Storage, record: unknown): Promise<void> {
  const now = storage.clock.now();
  await storage.enqueue('orders::subscriptions', [newMessage(newId(), now, { body: record })], { maxLength: undefined, overflow: 'reject', deadLetter: false, dedupeWindow: 0 }, now);
}

/** Collects the bodies a handler sees. */
function collector<T>() {
  const bodies: T[] = [];
  return { bodies, handler: async (msg: { body: T }) => void bodies.push(msg.body) };
}

describe('Topic', () => {
  describe('durable subscriptions', () => {
    it('.publish() - every subscription gets its own copy, with the same id', async () => {
      const { topic, clock } = setup<string>();
      const ids: Record<string, string[]> = { billing: [], shipping: [] };
      topic.subscribe('billing', async (msg) => void ids.billing!.push(msg.id));
      topic.subscribe('shipping', async (msg) => void ids.shipping!.push(msg.id));
      const id = await topic.publish('order-1');
      await clock.settle();
      expect(ids).toEqual({ billing: [id], shipping: [id] });
    });

    it('.publish() - resolves with an id and stores nothing when no subscription matches', async () => {
      const { topic, storage, clock } = setup<string>();
      const enqueueMany = vi.spyOn(storage, 'enqueueMany');
      const id = await topic.publish('lost');
      expect(typeof id).toBe('string');
      expect(enqueueMany).not.toHaveBeenCalled();
      const seen = collector<string>();
      topic.subscribe('late', seen.handler);
      await clock.settle();
      expect(seen.bodies).toEqual([]);
    });

    it('.subscribe() - receives only messages published after the subscription was first created', async () => {
      const { topic, clock } = setup<number>();
      await topic.publish(1);
      const seen = collector<number>();
      topic.subscribe('audit', seen.handler);
      await topic.publish(2);
      await clock.settle();
      expect(seen.bodies).toEqual([2]);
    });

    it('.subscribe() - messages published while no handler is attached wait for the next one', async () => {
      const { topic, clock } = setup<number>();
      const first = collector<number>();
      const sub = topic.subscribe('audit', first.handler);
      await topic.publish(1);
      await clock.settle();
      await sub.stop();
      await topic.publish(2);
      await topic.publish(3);
      await clock.settle();
      expect(first.bodies).toEqual([1]);
      const second = collector<number>();
      topic.subscribe('audit', second.handler);
      await clock.settle();
      expect(second.bodies).toEqual([2, 3]);
    });

    it('.subscribe() - a handle on the same topic and storage publishes to subscriptions made by another handle', async () => {
      const { topic, storage, clock } = setup<string>();
      const seen = collector<string>();
      topic.subscribe('billing', seen.handler);
      const other = new Topic<string>('orders', { storage });
      await other.publish('from-other-handle');
      await clock.settle();
      expect(seen.bodies).toEqual(['from-other-handle']);
    });

    it('.publish() - sees a subscription recorded by another process sharing the storage', async () => {
      const { topic, storage } = setup<string>();
      const sub = topic.subscribe('billing', async () => {}, { filter: 'order.*' });
      await sub.ready;
      await sub.stop();
      // What another process's subscribe() appends to a shared storage (e.g. RedisStorage).
      await appendRecord(storage, { name: 'remote', filter: null });
      await topic.publish('x', { subject: 'user.created' });
      const remote = new Queue<string>(topic.subscriptionQueueName('remote'), { storage });
      const [msg] = await remote.receive();
      expect(msg?.body).toBe('x');
      expect((await topic.subscriptions()).map((s) => s.name)).toEqual(['billing', 'remote']);
    });

    it('.publish() - publishes of one tick include a subscription made between them', async () => {
      const { topic, clock } = setup<number>();
      const early = topic.publish(1);
      const seen = collector<number>();
      topic.subscribe('late', seen.handler);
      const later = [topic.publish(2), topic.publish(3)];
      await Promise.all([early, ...later]);
      await clock.settle();
      // The first publish was called before the subscription and may or may not reach it.
      expect(seen.bodies.filter((body) => body !== 1)).toEqual([2, 3]);
    });

    it('.publish() - a publish made after another process recorded a subscription sees it, even while an earlier read of the record is in flight', async () => {
      const { topic, storage } = setup<string>();
      // A storage shared between processes cannot say at once whether the record moved (no `sentNow`).
      vi.spyOn(storage, 'sentNow').mockReturnValue(undefined);
      await topic.publish('known-version');
      const stats = storage.stats.bind(storage);
      let readStarted!: () => void;
      const started = new Promise<void>((resolve) => (readStarted = resolve));
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let held = false;
      // The first read of the record is taken now but answered late: it cannot see the append below.
      vi.spyOn(storage, 'stats').mockImplementation(async (queue, now) => {
        const result = await stats(queue, now);
        if (queue === 'orders::subscriptions' && !held) {
          held = true;
          readStarted();
          await gate;
        }
        return result;
      });
      const before = [topic.publish('before-1'), topic.publish('before-2')];
      await started;
      // What another process's subscribe() appends to a shared storage (e.g. RedisStorage).
      await appendRecord(storage, { name: 'remote', filter: null });
      const after = topic.publish('after');
      release();
      await Promise.all([...before, after]);
      const remote = new Queue<string>(topic.subscriptionQueueName('remote'), { storage });
      // The earlier publishes may or may not reach it (they were called before the append).
      expect((await remote.receive({ max: 10 })).map((m) => m.body)).toContain('after');
    });

    it('.publish() - publishes of one tick to the same subscriptions are stored in one storage call, in order', async () => {
      const { topic, storage, clock } = setup<number>();
      const seen = collector<number>();
      const sub = topic.subscribe('audit', seen.handler);
      await sub.ready;
      const enqueueMany = vi.spyOn(storage, 'enqueueMany');
      await Promise.all([1, 2, 3].map((n) => topic.publish(n)));
      await clock.settle();
      expect(enqueueMany).toHaveBeenCalledTimes(1);
      expect(seen.bodies).toEqual([1, 2, 3]);
    });

    it('.publish() - publishes of one tick with different subjects reach a subscription in publish order', async () => {
      const { topic, clock } = setup<number>();
      const all = collector<number>();
      const placed = collector<number>();
      const subs = [topic.subscribe('all', all.handler), topic.subscribe('placed', placed.handler, { filter: 'order.placed' })];
      await Promise.all(subs.map((s) => s.ready));
      const subjects = ['order.placed', 'order.shipped', 'order.placed', 'order.shipped', 'order.placed'];
      await Promise.all(subjects.map((subject, i) => topic.publish(i, { subject })));
      await clock.settle();
      expect(all.bodies).toEqual([0, 1, 2, 3, 4]);
      expect(placed.bodies).toEqual([0, 2, 4]);
    });

    it('.publishBatch() - in the same tick as publish(), is stored after the publishes made before it', async () => {
      const { topic, clock } = setup<number>();
      const seen = collector<number>();
      const sub = topic.subscribe('audit', seen.handler);
      await sub.ready;
      await Promise.all([topic.publish(1), topic.publishBatch([{ body: 2 }, { body: 3 }]), topic.publish(4)]);
      await clock.settle();
      expect(seen.bodies).toEqual([1, 2, 3, 4]);
    });

    it('.publish() - when the storage call fails, every publish of it rejects and none is stored', async () => {
      const { topic, storage } = setup<string>();
      const sub = topic.subscribe('audit', async () => {});
      await sub.ready;
      await sub.stop();
      vi.spyOn(storage, 'enqueueMany').mockRejectedValueOnce(new Error('disk full'));
      const results = await Promise.allSettled([topic.publish('a'), topic.publish('b')]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
      await topic.publish('c');
      const stored = await new Queue<string>(topic.subscriptionQueueName('audit'), { storage }).peek(10);
      expect(stored.map((m) => m.body)).toEqual(['c']);
    });

    it('.subscribe() - pause() holds messages in the subscription queue and resume() delivers them', async () => {
      const { topic, clock } = setup<number>();
      const seen = collector<number>();
      const sub = topic.subscribe('audit', seen.handler);
      sub.pause();
      expect(sub.isPaused).toBe(true);
      await topic.publish(1);
      await clock.settle();
      expect(seen.bodies).toEqual([]);
      expect((await sub.queue!.stats()).ready).toBe(1);
      sub.resume();
      await clock.settle();
      expect(seen.bodies).toEqual([1]);
    });

    it('.subscribe() - the handler sees subject, headers and correlationId', async () => {
      expect.assertions(1);
      const { topic, clock } = setup<string>();
      topic.subscribe('audit', async (msg) => {
        expect(msg).toMatchObject({ body: 'b', subject: 'order.placed', headers: { k: 'v' }, correlationId: 'c-1', attempt: 1 });
      });
      await topic.publish('b', { subject: 'order.placed', headers: { k: 'v' }, correlationId: 'c-1' });
      await clock.settle();
    });

    it('.publish() - delay applies to every copy', async () => {
      const { topic, clock } = setup<string>();
      const a = collector<string>();
      const b = collector<string>();
      topic.subscribe('a', a.handler);
      topic.subscribe('b', b.handler);
      await topic.publish('later', { delay: 5_000 });
      await clock.advance(4_999);
      expect([a.bodies, b.bodies]).toEqual([[], []]);
      await clock.advance(1);
      expect([a.bodies, b.bodies]).toEqual([['later'], ['later']]);
    });

    it('.publish() - a dedupeId seen within the dedupe window stores nothing more for a subscription', async () => {
      const { topic, clock } = setup<number>({ dedupeWindow: 10_000 });
      const seen = collector<number>();
      topic.subscribe('audit', seen.handler);
      await topic.publish(1, { dedupeId: 'evt-1' });
      await topic.publish(2, { dedupeId: 'evt-1' });
      await clock.advance(10_000);
      await topic.publish(3, { dedupeId: 'evt-1' });
      await clock.settle();
      expect(seen.bodies).toEqual([1, 3]);
    });
  });

  describe('fan-out', () => {
    it('.publish() - reaches all matching subscriptions in one storage operation', async () => {
      const { topic, storage } = setup<string>();
      const subs = ['billing', 'shipping', 'analytics'].map((name) => topic.subscribe(name, async () => {}));
      for (const sub of subs) sub.pause();
      await Promise.all(subs.map((sub) => sub.ready));
      const enqueueMany = vi.spyOn(storage, 'enqueueMany');
      const enqueue = vi.spyOn(storage, 'enqueue');
      await topic.publish('order-1');
      expect(enqueueMany).toHaveBeenCalledTimes(1);
      expect([...enqueueMany.mock.calls[0]![0]].sort()).toEqual(['orders:analytics', 'orders:billing', 'orders:shipping']);
      expect(enqueue).not.toHaveBeenCalled();
    });

    it('.publish() - rejects and stores nothing in any subscription when the storage operation fails', async () => {
      const { topic, storage } = setup<string>();
      const subs = ['billing', 'shipping'].map((name) => topic.subscribe(name, async () => {}));
      for (const sub of subs) sub.pause();
      vi.spyOn(storage, 'enqueueMany').mockRejectedValueOnce(new Error('disk full'));
      await expect(topic.publish('order-1')).rejects.toThrow('disk full');
      for (const sub of subs) expect(await sub.queue!.stats()).toMatchObject({ ready: 0, delayed: 0, sent: 0 });
    });

    it('.publishBatch() - stores messages with the same matching subscriptions together and each where it matches', async () => {
      const { topic, storage, clock } = setup<string>();
      const placed = collector<string>();
      const all = collector<string>();
      topic.subscribe('placed', placed.handler, { filter: 'order.placed' });
      topic.subscribe('all', all.handler);
      const enqueueMany = vi.spyOn(storage, 'enqueueMany');
      const ids = await topic.publishBatch([
        { body: 'p1', options: { subject: 'order.placed' } },
        { body: 's1', options: { subject: 'order.shipped' } },
        { body: 'p2', options: { subject: 'order.placed' } },
      ]);
      await clock.settle();
      expect(ids).toHaveLength(3);
      expect(enqueueMany).toHaveBeenCalledTimes(2);
      expect(placed.bodies).toEqual(['p1', 'p2']);
      expect(all.bodies.sort()).toEqual(['p1', 'p2', 's1']);
    });

    it('.publishBatch() - rejects an invalid item before storing any', async () => {
      const { topic, storage } = setup<string>();
      topic.subscribe('all', async () => {}).pause();
      const enqueueMany = vi.spyOn(storage, 'enqueueMany');
      await expect(topic.publishBatch([{ body: 'ok' }, { body: 'bad', options: { subject: 'a.*' } }])).rejects.toThrow(/`items\[1\]\.options\.subject`/);
      expect(enqueueMany).not.toHaveBeenCalled();
    });
  });

  describe('filters', () => {
    it('.subscribe() - a subscription receives only subjects its filter matches', async () => {
      const { topic, clock } = setup<string>();
      const orders = collector<string>();
      const errors = collector<string>();
      const everything = collector<string>();
      topic.subscribe('orders', orders.handler, { filter: 'order.*' });
      topic.subscribe('errors', errors.handler, { filter: '#.error' });
      topic.subscribe('everything', everything.handler);
      await topic.publish('placed', { subject: 'order.placed' });
      await topic.publish('placed-eu', { subject: 'order.placed.eu' });
      await topic.publish('db-error', { subject: 'billing.db.error' });
      await topic.publish('no-subject');
      await clock.settle();
      expect(orders.bodies).toEqual(['placed']);
      expect(errors.bodies).toEqual(['db-error']);
      expect(everything.bodies).toEqual(['placed', 'placed-eu', 'db-error', 'no-subject']);
    });

    it('.subscribe() - subscribing again under the same name changes the filter from then on', async () => {
      const { topic, clock } = setup<string>();
      const first = topic.subscribe('audit', async () => {}, { filter: 'order.*' });
      await first.ready;
      await first.stop();
      const seen = collector<string>();
      const second = topic.subscribe('audit', seen.handler, { filter: 'user.*' });
      await second.ready;
      await topic.publish('order', { subject: 'order.placed' });
      await topic.publish('user', { subject: 'user.created' });
      await clock.settle();
      expect(seen.bodies).toEqual(['user']);
      expect(await topic.subscriptions()).toEqual([{ name: 'audit', filter: 'user.*', queue: 'orders:audit' }]);
    });
  });

  describe('isolation', () => {
    it('.subscribe() - a failing subscriber retries and dead-letters on its own while the others ack once', async () => {
      const { topic, storage, clock } = setup<string>();
      const good = collector<string>();
      let failures = 0;
      topic.subscribe('good', good.handler);
      const bad = topic.subscribe(
        'bad',
        async () => {
          failures++;
          throw new Error('billing is down');
        },
        { maxAttempts: 3, backoff: { initial: 1_000, jitter: 'none' } },
      );
      await topic.publish('order-1');
      await clock.advance(10_000);
      expect(good.bodies).toEqual(['order-1']);
      expect(failures).toBe(3);
      const dlq = new Queue<string>('orders:bad.dlq', { storage });
      const [dead] = await dlq.receive();
      expect(dead?.body).toBe('order-1');
      expect(dead?.headers[DEAD_LETTER_HEADERS.error]).toBe('billing is down');
      expect(await bad.queue!.stats()).toMatchObject({ ready: 0, delayed: 0, inflight: 0, deadLettered: 1 });
      expect(await new Queue('orders:good', { storage }).stats()).toMatchObject({ acked: 1, retried: 0 });
    });
  });

  describe('live listeners', () => {
    it('.subscribe(listener) - hears publishes while attached, and nothing after stop()', async () => {
      const { topic } = setup<number>();
      const heard: MessageInfo<number>[] = [];
      const live = topic.subscribe((msg) => void heard.push(msg));
      expect(live.durable).toBe(false);
      const id = await topic.publish(1, { subject: 'a.b' });
      await live.stop();
      await topic.publish(2);
      expect(heard).toHaveLength(1);
      expect(heard[0]).toMatchObject({ id, body: 1, subject: 'a.b', attempt: 0 });
    });

    it('.subscribe(listener) - misses what is published while paused (nothing is stored for it)', async () => {
      const { topic } = setup<number>();
      const heard: number[] = [];
      const live = topic.subscribe((msg) => void heard.push(msg.body));
      live.pause();
      await topic.publish(1);
      live.resume();
      await topic.publish(2);
      expect(heard).toEqual([2]);
    });

    it('.subscribe(listener) - honours a filter', async () => {
      const { topic } = setup<string>();
      const heard: string[] = [];
      topic.subscribe((msg) => void heard.push(msg.body), { filter: '*.error' });
      await topic.publish('e', { subject: 'api.error' });
      await topic.publish('w', { subject: 'api.warn' });
      expect(heard).toEqual(['e']);
    });

    it('.subscribe(listener) - a throwing listener is reported and never breaks publish or other listeners', async () => {
      const { topic, clock } = setup<string>();
      const errors: Error[] = [];
      topic.on('error', (error) => errors.push(error));
      const heard: string[] = [];
      topic.subscribe(() => {
        throw new Error('listener bug');
      });
      topic.subscribe(async () => {
        throw new Error('async listener bug');
      });
      topic.subscribe((msg) => void heard.push(msg.body));
      const durable = collector<string>();
      topic.subscribe('audit', durable.handler);
      await expect(topic.publish('x')).resolves.toEqual(expect.any(String));
      await clock.settle();
      expect(heard).toEqual(['x']);
      expect(durable.bodies).toEqual(['x']);
      expect(errors.map((e) => e.message).sort()).toEqual(['async listener bug', 'listener bug']);
    });

    it('.publish() - with no durable subscription matching, calls the live listeners before it returns', async () => {
      const { topic } = setup<string>();
      topic.subscribe('billing', async () => {}, { filter: 'order.*' });
      const heard: string[] = [];
      topic.subscribe((msg) => void heard.push(msg.body));
      await topic.publish('first');
      const published = topic.publish('user', { subject: 'user.created' });
      expect(heard).toEqual(['first', 'user']);
      await published;
      const stored = topic.publish('order', { subject: 'order.placed' });
      // A publish with a durable copy calls them once it is stored.
      expect(heard).toEqual(['first', 'user']);
      await stored;
      expect(heard).toEqual(['first', 'user', 'order']);
    });

    it('.publish() - a live listener is called after the durable copies are stored', async () => {
      const { topic, storage } = setup<string>();
      topic.subscribe('billing', async () => {}).pause();
      const enqueueMany = vi.spyOn(storage, 'enqueueMany');
      const callsSeen: number[] = [];
      topic.subscribe(() => void callsSeen.push(enqueueMany.mock.calls.length));
      await topic.publish('a');
      await topic.publish('b');
      expect(callsSeen).toEqual([1, 2]);
    });

    it('.publish() - live listeners hear publishes in order when an earlier publish still waits to call them', async () => {
      const { topic } = setup<string>();
      const heard: string[] = [];
      topic.subscribe((msg) => void heard.push(msg.body));
      await topic.publish('warm-up');
      const batch = topic.publishBatch([{ body: 'batch-1' }, { body: 'batch-2' }]);
      await Promise.all([batch, topic.publish('single'), new Topic<string>('orders', { storage: topic.storage }).publish('other handle')]);
      expect(heard).toEqual(['warm-up', 'batch-1', 'batch-2', 'single', 'other handle']);
    });

    it('.publish() - right after subscribe() returns, includes the new durable subscription', async () => {
      const { topic, clock } = setup<string>();
      const heard: string[] = [];
      topic.subscribe((msg) => void heard.push(msg.body));
      await topic.publish('before');
      const seen = collector<string>();
      topic.subscribe('late', seen.handler);
      const published = topic.publish('after');
      // Not heard at once: the publish has a durable copy to store first.
      expect(heard).toEqual(['before']);
      await published;
      await clock.settle();
      expect(seen.bodies).toEqual(['after']);
      expect(heard).toEqual(['before', 'after']);
    });

    it('.publish() - an async listener that rejects is reported when called before publish() returns', async () => {
      const { topic, clock } = setup<string>();
      const errors: Error[] = [];
      topic.on('error', (error) => errors.push(error));
      topic.subscribe(async () => {
        throw new Error('async listener bug');
      });
      await topic.publish('warm-up');
      await clock.settle();
      errors.length = 0;
      await expect(topic.publish('x')).resolves.toEqual(expect.any(String));
      await clock.settle();
      expect(errors.map((e) => e.message)).toEqual(['async listener bug']);
    });

    it('.subscribe(listener) - a listener on another handle of the same topic hears publishes', async () => {
      const { topic, storage } = setup<string>();
      const heard: string[] = [];
      new Topic<string>('orders', { storage }).subscribe((msg) => void heard.push(msg.body));
      await topic.publish('x');
      expect(heard).toEqual(['x']);
    });
  });

  describe('unsubscribe and delete', () => {
    it('.unsubscribe() - detaches the handlers; the subscription keeps collecting messages', async () => {
      const { topic, clock } = setup<number>();
      const seen = collector<number>();
      const sub = topic.subscribe('audit', seen.handler);
      await topic.unsubscribe('audit');
      await topic.publish(1);
      await clock.settle();
      expect(seen.bodies).toEqual([]);
      expect((await sub.queue!.stats()).ready).toBe(1);
      expect((await topic.subscriptions()).map((s) => s.name)).toEqual(['audit']);
    });

    it('.deleteSubscription() - removes its messages and its record, and later publishes skip it', async () => {
      const { topic, storage } = setup<number>();
      topic.subscribe('audit', async () => {}).pause();
      topic.subscribe('keep', async () => {}).pause();
      await topic.publish(1);
      await topic.publish(2);
      expect(await topic.deleteSubscription('audit')).toBe(2);
      await topic.publish(3);
      expect(await new Queue('orders:audit', { storage }).stats()).toMatchObject({ ready: 0 });
      expect(await new Queue('orders:keep', { storage }).stats()).toMatchObject({ ready: 3 });
      expect((await topic.subscriptions()).map((s) => s.name)).toEqual(['keep']);
    });

    it('.deleteSubscription() - a subscription created again under the same name starts empty', async () => {
      const { topic, clock } = setup<number>();
      topic.subscribe('audit', async () => {}).pause();
      await topic.publish(1);
      await topic.deleteSubscription('audit');
      await topic.publish(2);
      const seen = collector<number>();
      topic.subscribe('audit', seen.handler);
      await topic.publish(3);
      await clock.settle();
      expect(seen.bodies).toEqual([3]);
    });
  });

  describe('close', () => {
    it('.close() - detaches every subscription; later calls reject or throw ClosedError', async () => {
      const { topic, storage, clock } = setup<number>();
      const seen = collector<number>();
      topic.subscribe('audit', seen.handler);
      await topic.close();
      await expect(topic.publish(1)).rejects.toBeInstanceOf(ClosedError);
      expect(() => topic.subscribe('audit', seen.handler)).toThrow(ClosedError);
      await new Topic<number>('orders', { storage }).publish(2);
      await clock.settle();
      expect(seen.bodies).toEqual([]);
    });
  });

  describe('recording', () => {
    it('.subscribe() - ready rejects, the topic emits error and the subscription stops when it cannot be recorded', async () => {
      const { topic, storage } = setup<number>();
      vi.spyOn(storage, 'enqueue').mockRejectedValueOnce(new Error('disk full'));
      const errors: Error[] = [];
      topic.on('error', (error) => errors.push(error));
      const sub = topic.subscribe('audit', async () => {});
      await expect(sub.ready).rejects.toThrow('disk full');
      await sub.stop();
      expect(errors.map((e) => e.message)).toEqual(['disk full']);
      expect(await topic.subscriptions()).toEqual([]);
    });

    it('.publish() - rejects when the recorded subscriptions are unreadable', async () => {
      const { topic, storage } = setup<number>();
      await appendRecord(storage, { not: 'a record' });
      await expect(topic.publish(1)).rejects.toThrow(/recorded subscriptions cannot be read/);
    });
  });

  describe('bad input', () => {
    it.each(['', 'a b', '../x', '.x', 42, undefined])('new Topic() - rejects the name %j', (name) => {
      expect(() => new Topic(name as string)).toThrow(/Expected `name`/);
    });

    it('new Topic() - rejects a name too long to leave room for its record queue', () => {
      expect(() => new Topic('x'.repeat(186))).toThrow(RangeError);
      expect(new Topic('x'.repeat(185)).name).toHaveLength(185);
    });

    it('new Topic() - rejects unknown options and a negative dedupeWindow', () => {
      expect(() => new Topic('t', { dedupe: 1 } as TopicOptions)).toThrow(/Unknown option `options.dedupe`/);
      expect(() => new Topic('t', { dedupeWindow: -1 })).toThrow(RangeError);
      expect(() => new Topic('t', { storage: {} as MemoryStorage })).toThrow(/`options.storage`/);
    });

    it.each([
      ['', /`name`/],
      ['a:b', /`name` to be a subscription name without ":"/],
      ['x'.repeat(200), /`name` to be a subscription name of at most 193 characters/],
      ['ok', /`handler` to be a function/, 'not a function'],
      ['ok', /`options.filter`/, undefined, { filter: 'a.b*' }],
      ['ok', /`options.filter`/, undefined, { filter: 'a..b' }],
      ['ok', /`options.filter`/, undefined, { filter: '' }],
      ['ok', /Unknown option `options.maxLength`/, undefined, { maxLength: 10 }],
      ['ok', /`options.maxAttempts`/, undefined, { maxAttempts: 0 }],
      ['ok', /`options.concurrency`/, undefined, { concurrency: -1 }],
    ])('.subscribe(%j) - throws %s and records nothing', async (name, message, handler?: unknown, options?: unknown) => {
      const { topic, storage } = setup();
      expect(() => topic.subscribe(name, (handler ?? (async () => {})) as () => void, options as object)).toThrow(message);
      expect((await storage.stats('orders::subscriptions', storage.clock.now())).sent).toBe(0);
    });

    it('.subscribe() - throws for a first argument that is neither a name nor a function', () => {
      const { topic } = setup();
      expect(() => topic.subscribe(42 as unknown as string, async () => {})).toThrow(/`name` to be a subscription name or a listener function/);
    });

    it('.subscribe(listener) - rejects a bad filter and unknown options', () => {
      const { topic } = setup();
      expect(() => topic.subscribe(() => {}, { filter: '#x' })).toThrow(/`options.filter`/);
      expect(() => topic.subscribe(() => {}, { maxAttempts: 2 } as object)).toThrow(/Unknown option `options.maxAttempts`/);
    });

    it.each([{ subject: 'order.*' }, { subject: 'a..b' }, { subject: '' }, { delay: -1 }, { bogus: 1 }])('.publish() - rejects %j and stores nothing', async (options) => {
      const { topic, storage } = setup();
      topic.subscribe('all', async () => {}).pause();
      const enqueueMany = vi.spyOn(storage, 'enqueueMany');
      await expect(topic.publish('x', options as object)).rejects.toThrow(/options/);
      expect(enqueueMany).not.toHaveBeenCalled();
    });
  });

  describe('on FileStorage', () => {
    const dirs: string[] = [];
    afterEach(() => {
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    });

    it('.publish() - calls the live listeners before it returns once the storage is open', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'pocketmq-topic-'));
      dirs.push(dir);
      const storage = new FileStorage({ dir, clock: new TestClock(1_000) });
      // Not opened yet: it cannot say at once what the record holds.
      expect(storage.sentNow('orders::subscriptions')).toBeUndefined();
      const topic = new Topic<string>('orders', { storage });
      const heard: string[] = [];
      topic.subscribe((msg) => void heard.push(msg.body));
      await topic.publish('first');
      expect(storage.sentNow('orders::subscriptions')).toBe(0);
      const published = topic.publish('second');
      expect(heard).toEqual(['first', 'second']);
      await published;
      await storage.close();
    });

    it('.subscribe() - a durable subscription and what was published while its subscriber was away survive a reopen', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'pocketmq-topic-'));
      dirs.push(dir);
      const clock = new TestClock(1_000);

      // First run: the subscriber records its subscription, takes one message, and goes away.
      const first = new FileStorage({ dir, clock });
      const subscriberTopic = new Topic<string>('orders', { storage: first });
      const seenBefore = collector<string>();
      const sub = subscriberTopic.subscribe('billing', seenBefore.handler, { filter: 'order.*' });
      await sub.ready;
      await subscriberTopic.publish('o-1', { subject: 'order.placed' });
      await clock.settle();
      await sub.stop();
      await first.close();

      // Second run: only a publisher; the recorded subscription still gets its copies.
      const second = new FileStorage({ dir, clock });
      const publisher = new Topic<string>('orders', { storage: second });
      await publisher.publish('o-2', { subject: 'order.placed' });
      await publisher.publish('u-1', { subject: 'user.created' });
      await publisher.publish('o-3', { subject: 'order.shipped' });
      await second.close();

      // Third run: the subscriber comes back and receives what it missed, in order.
      const third = new FileStorage({ dir, clock });
      const comeback = new Topic<string>('orders', { storage: third });
      const seenAfter = collector<string>();
      comeback.subscribe('billing', seenAfter.handler, { filter: 'order.*' });
      await clock.settle();
      await comeback.close();
      await third.close();
      expect(seenBefore.bodies).toEqual(['o-1']);
      expect(seenAfter.bodies).toEqual(['o-2', 'o-3']);
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

    /** Two storages on one prefix stand for two processes sharing the queues. */
    function twoProcesses() {
      const clock = new TestClock(1_000);
      const prefix = server.prefix('topic');
      return { a: new RedisStorage({ url: server.url, prefix, clock }), b: new RedisStorage({ url: server.url, prefix, clock }) };
    }

    it('.publish() - from one process reaches a durable subscription recorded by the other', async () => {
      const { a, b } = twoProcesses();
      try {
        const seen = collector<string>();
        const sub = new Topic<string>('orders', { storage: a }).subscribe('billing', seen.handler, { filter: 'order.*' });
        await sub.ready;
        const publisher = new Topic<string>('orders', { storage: b });
        await publisher.publish('o-1', { subject: 'order.placed' });
        await publisher.publish('u-1', { subject: 'user.created' });
        await sub.queue!.idle();
        expect(seen.bodies).toEqual(['o-1']);
        await sub.stop();
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('.subscribe() - subscriptions recorded by both processes at the same moment are both kept', async () => {
      const { a, b } = twoProcesses();
      try {
        const subs = [
          new Topic('orders', { storage: a }).subscribe('billing', async () => {}),
          new Topic('orders', { storage: b }).subscribe('shipping', async () => {}),
        ];
        await Promise.all(subs.map((s) => s.ready));
        for (const storage of [a, b]) {
          const names = (await new Topic('orders', { storage }).subscriptions()).map((s) => s.name).sort();
          expect(names).toEqual(['billing', 'shipping']);
        }
        await Promise.all(subs.map((s) => s.stop()));
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  });
});
