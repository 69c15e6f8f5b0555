/** The `pocketmq` bin on RedisStorage (`--redis URL --prefix P`), spawned from dist/ against a real redis-server. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStorage } from '../src/redis.js';
import { Queue } from '../src/queue.js';
import { buildCli, cli, startCli } from './helpers/cli.js';
import { freePort, redisSkipReason, useRedis, type RedisServer } from './helpers/redis-server.js';

/** Skipped, with the reason printed once by test/helpers/redis-global-setup.ts, where Redis cannot run. */
const describeRedis = describe.skipIf(redisSkipReason() !== undefined);

let server: RedisServer | undefined;

beforeAll(async () => {
  if (redisSkipReason() !== undefined) return;
  server = await useRedis();
  await buildCli();
}, 180_000);

afterAll(async () => {
  await server?.close();
});

/** A fresh prefix holding orders 3-5 ready and orders 1-2 dead-lettered. */
async function queues(): Promise<string> {
  const prefix = server!.prefix('cli');
  const storage = new RedisStorage({ url: server!.url, prefix });
  const orders = new Queue<{ n: number }>('orders', { storage, maxAttempts: 1 });
  for (let n = 1; n <= 5; n++) await orders.send({ n }, { headers: { type: 'order' } });
  for (const msg of await orders.receive({ max: 2 })) await msg.deadLetter('bad-input');
  await storage.close();
  return prefix;
}

const parse = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;
const readyCounts = (stdout: string) => Object.fromEntries((parse(stdout).queues as { name: string; stats: { ready: number } }[]).map((q) => [q.name, q.stats.ready]));

describeRedis('pocketmq CLI on --redis', () => {
  it('ls and peek - list the queues of the prefix and their dead letters', async () => {
    const prefix = await queues();
    const at = ['--redis', server!.url, '--prefix', prefix];
    const ls = await cli(['ls', ...at]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^orders\s+3\s+0\s+0\s+5\s+0\s+2$/m);
    expect(ls.stdout).toMatch(/^orders\.dlq\s+2\s/m);
    const peek = await cli(['peek', 'orders.dlq', '--json', ...at]);
    expect(peek.code).toBe(0);
    expect((parse(peek.stdout).messages as { body: unknown; headers: Record<string, string> }[]).map((m) => [m.body, m.headers['x-dead-reason']])).toEqual([
      [{ n: 1 }, 'bad-input'],
      [{ n: 2 }, 'bad-input'],
    ]);
  });

  it('redrive and purge --yes - change the queues; purge without --yes exits 2', async () => {
    const prefix = await queues();
    const at = ['--redis', server!.url, '--prefix', prefix];
    expect(await cli(['redrive', 'orders.dlq', '--json', ...at])).toMatchObject({ code: 0, stdout: '{"moved":2}\n' });
    expect(readyCounts((await cli(['ls', '--json', ...at])).stdout)).toMatchObject({ orders: 5 });
    expect((await cli(['purge', 'orders', ...at])).code).toBe(2);
    expect(await cli(['purge', 'orders', '--yes', ...at])).toMatchObject({ code: 0, stdout: 'Purged 5 messages from orders.\n' });
    expect(readyCounts((await cli(['ls', '--json', ...at])).stdout)).toMatchObject({ orders: 0 });
  });

  it('stats --watch - follows sends made by another process', async () => {
    const prefix = await queues();
    const watch = startCli(['stats', 'orders', '--watch', '--interval', '100', '--json', '--redis', server!.url, '--prefix', prefix]);
    try {
      const [first] = await watch.lines(1);
      expect(parse(first!)).toMatchObject({ name: 'orders', stats: { ready: 3 } });
      const storage = new RedisStorage({ url: server!.url, prefix });
      await new Queue('orders', { storage }).send({ n: 6 });
      await storage.close();
      const lines = await watch.lines(20);
      expect(lines.map((line) => (parse(line).stats as { ready: number }).ready)).toContain(4);
      watch.child.kill('SIGTERM');
      expect(await watch.exited).toBe(0);
    } finally {
      watch.child.kill('SIGKILL');
    }
  });

  it('a Redis that does not answer - exits 1 with one line', async () => {
    const { code, stdout, stderr } = await cli(['ls', '--redis', `redis://127.0.0.1:${await freePort()}`]);
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^pocketmq: .*(ECONNREFUSED|connect)/i);
  });
});
