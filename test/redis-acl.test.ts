/**
 * docs/redis.md's least-privilege ACL, run as written: the storage contract suite as a
 * user restricted to one prefix, on a redis-server that requires a password, and proof
 * that this user cannot reach another prefix's keys or channels.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PocketMQError } from '../src/errors.js';
import { Queue } from '../src/queue.js';
import { RedisStorage } from '../src/redis.js';
import { RequestReply } from '../src/request-reply.js';
import { Topic } from '../src/topic.js';
import { redisSkipReason, startRedis, type RedisServer } from './helpers/redis-server.js';
import { describeStorage } from './storage-contract.js';

const describeOwnRedis = describe.skipIf(redisSkipReason('own-server') !== undefined);

const ADMIN_PASSWORD = 'admin-secret';
const PASSWORD = 'tenant-secret';
const PREFIX = 'tenant-a';
const OTHER = 'tenant-b';

/** The `ACL SETUSER` line of docs/redis.md, for `prefix` instead of the page's `myapp`. */
function documentedAcl(prefix: string, password: string): string[] {
  const page = readFileSync(new URL('../docs/redis.md', import.meta.url), 'utf8');
  const line = page.split('\n').find((l) => l.startsWith('ACL SETUSER pocketmq-myapp '));
  if (line === undefined) throw new Error('docs/redis.md has no `ACL SETUSER pocketmq-myapp` line');
  return line.replaceAll('myapp', prefix).replace('>CHANGE-ME', `>${password}`).split(' ').slice(1);
}

let server: RedisServer;
let admin: Redis;
let user: string;
let prefixes = 0;

beforeAll(async () => {
  if (redisSkipReason('own-server') !== undefined) return;
  server = await startRedis({ config: ['--requirepass', ADMIN_PASSWORD] });
  admin = new Redis(server.port, '127.0.0.1', { password: ADMIN_PASSWORD, lazyConnect: true });
  await admin.connect();
  const acl = documentedAcl(PREFIX, PASSWORD);
  user = acl[1]!;
  await admin.call('ACL', ...acl);
});

afterAll(async () => {
  admin?.disconnect();
  await server?.close();
});

/** A connection as the restricted user. */
function asUser(): Promise<Redis> {
  const client = new Redis(server.port, '127.0.0.1', { username: user, password: PASSWORD, lazyConnect: true, maxRetriesPerRequest: 0 });
  return client.connect().then(() => client);
}

const userUrl = () => `redis://${user}:${PASSWORD}@127.0.0.1:${server.port}`;

describeOwnRedis('RedisStorage as a user with the documented ACL', () => {
  it('the server refuses anonymous clients and the user may not run admin commands', async () => {
    const anonymous = new Redis(server.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, enableReadyCheck: false });
    await anonymous.connect();
    await expect(anonymous.get(`{${PREFIX}:q}:m`)).rejects.toThrow(/NOAUTH/);
    anonymous.disconnect();
    const client = await asUser();
    try {
      for (const command of [['KEYS', '*'], ['FLUSHALL'], ['CONFIG', 'GET', 'requirepass'], ['SCRIPT', 'FLUSH']]) {
        await expect(client.call(command[0]!, ...command.slice(1))).rejects.toThrow(/NOPERM/);
      }
    } finally {
      client.disconnect();
    }
  });

  // Sub-prefixes of the one the ACL names: each test gets an empty storage the user may use.
  describeStorage('RedisStorage (restricted user)', async (clock) => ({ storage: new RedisStorage({ url: userUrl(), prefix: `${PREFIX}:${++prefixes}`, clock }) }));

  it('queues, topics, request/reply and schedules work as the user, with the prefix itself and keyTag storage too', async () => {
    for (const options of [{ prefix: PREFIX }, { prefix: PREFIX, keyTag: 'storage' as const }, { prefix: `${PREFIX}:${++prefixes}`, keyTag: 'queue' as const }]) {
      const storage = new RedisStorage({ url: userUrl(), ...options });
      try {
        const queue = new Queue<number>('jobs', { storage, maxAttempts: 1 });
        await queue.send(1);
        const [message] = await queue.receive();
        await message!.deadLetter('checked');
        expect((await new Queue('jobs.dlq', { storage }).peek()).map((m) => m.body)).toEqual([1]);
        await queue.schedule('tick', { every: 60_000 }, 2);
        expect((await queue.schedules()).map((s) => s.id)).toEqual(['tick']);
        expect(await queue.unschedule('tick')).toBe(true);
        const topic = new Topic<string>('news', { storage });
        const heard: string[] = [];
        const subscription = topic.subscribe('reader', async (m) => void heard.push(m.body));
        await subscription.ready;
        await topic.publish('hello');
        await new Queue('news:reader', { storage }).idle();
        expect(heard).toEqual(['hello']);
        const rpc = new RequestReply<number, number>('double', { storage });
        rpc.serve((n) => n * 2);
        expect(await rpc.request(21)).toBe(42);
        await Promise.all([queue.close(), topic.close(), rpc.close()]);
      } finally {
        await storage.close();
      }
    }
  });

  it("cannot read, write or subscribe to another prefix's keys and channels", async () => {
    // The other tenant's data, written by the administrator.
    const other = new RedisStorage({ url: `redis://default:${ADMIN_PASSWORD}@127.0.0.1:${server.port}`, prefix: OTHER });
    const secret = new Queue('orders', { storage: other });
    await secret.send({ card: '4111' });
    await secret.schedule('nightly', { every: 60_000 }, { report: true });
    await other.close();
    const otherKeys = (await admin.keys('*')).filter((key) => key.includes(OTHER));
    expect(otherKeys).toEqual(expect.arrayContaining([`{${OTHER}:orders}:orders:m`, `{${OTHER}:orders}:orders:b`, `${OTHER}:scheduled-queues`]));

    const client = await asUser();
    try {
      for (const key of otherKeys) {
        await expect(client.call('HGETALL', key), key).rejects.toThrow(/NOPERM/);
        await expect(client.call('DEL', key), key).rejects.toThrow(/NOPERM/);
      }
      await expect(client.call('HSET', `{${OTHER}:orders}:orders:m`, 'x', 'y')).rejects.toThrow(/NOPERM/);
      // A key that only looks like the user's prefix: `tenant-ab` is not `tenant-a`.
      await expect(client.call('HSET', `{${PREFIX}b:orders}:orders:m`, 'x', 'y')).rejects.toThrow(/NOPERM/);
      await expect(client.call('PUBLISH', `${OTHER}:signals`, 'x')).rejects.toThrow(/NOPERM/);
      // A script may only touch what the user may, whatever keys it declares.
      await expect(client.eval("return redis.call('HGETALL', KEYS[1])", 1, `{${OTHER}:orders}:orders:b`)).rejects.toThrow(/NOPERM/);
      await expect(client.eval(`return redis.call('HGETALL', '{${OTHER}:orders}:orders:b')`, 1, `{${PREFIX}:x}:x:m`)).rejects.toThrow(/can't access/);
    } finally {
      client.disconnect();
    }
    const subscriber = await asUser();
    try {
      await expect(subscriber.subscribe(`${OTHER}:signals`)).rejects.toThrow(/NOPERM/);
    } finally {
      subscriber.disconnect();
    }

    // The storage itself, pointed at the other prefix, fails with ERR_REDIS and changes nothing.
    const intruder = new RedisStorage({ url: userUrl(), prefix: OTHER });
    try {
      const error = await new Queue('orders', { storage: intruder }).send({ forged: true }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PocketMQError);
      expect((error as PocketMQError).code).toBe('ERR_REDIS');
      expect(String((error as Error).message) + String((error as Error).cause)).toMatch(/NOPERM/);
    } finally {
      await intruder.close();
    }
    expect(await admin.hlen(`{${OTHER}:orders}:orders:m`)).toBe(1);
  });
});
