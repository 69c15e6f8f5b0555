import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, MemoryStorage, Queue, type Storage } from '../src/index.js';
import { FileStorage } from '../src/file.js';
import { TestClock, inspect } from '../src/testing.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const storages: [string, (clock: TestClock) => Storage][] = [
  ['MemoryStorage', (clock) => new MemoryStorage({ clock })],
  [
    'FileStorage',
    (clock) => {
      const dir = mkdtempSync(join(tmpdir(), 'pocketmq-inspect-'));
      const storage = new FileStorage({ dir, clock });
      cleanups.push(async () => {
        await storage.close();
        rmSync(dir, { recursive: true, force: true });
      });
      return storage;
    },
  ],
];

describe.each(storages)('inspect() on %s', (_name, makeStorage) => {
  it('shows each queue\'s ready, delayed and in-flight messages in order, with its stats', async () => {
    const clock = new TestClock(1_000);
    const storage = makeStorage(clock);
    const orders = new Queue<string>('orders', { storage, visibilityTimeout: 30_000 });
    await orders.send('a');
    await orders.send('later', { delay: 5_000 });
    await orders.send('urgent', { priority: 5 });
    await orders.send('g1', { group: 'customer-1' });
    await orders.send('g2', { group: 'customer-1' });
    const [leased] = await orders.receive();
    expect(leased!.body).toBe('urgent');

    const view = await inspect(storage);
    expect(Object.keys(view)).toEqual(['orders']);
    const { ready, delayed, inflight, dead, stats } = view.orders!;
    expect(ready.map((m) => m.body)).toEqual(['a', 'g1', 'g2']);
    expect(ready[1]).toMatchObject({ group: 'customer-1', attempt: 0, enqueuedAt: 1_000 });
    expect(delayed).toEqual([expect.objectContaining({ body: 'later', availableAt: 6_000, attempt: 0 })]);
    expect(inflight).toEqual([expect.objectContaining({ id: leased!.id, body: 'urgent', attempt: 1, priority: 5, leaseUntil: 31_000 })]);
    expect(dead).toEqual([]);
    expect(stats).toMatchObject({ ready: 3, delayed: 1, inflight: 1, sent: 5, delivered: 1 });
  });

  it('lists a queue\'s dead letters from its dead-letter queue, with their x-dead-* headers', async () => {
    const clock = new TestClock();
    const storage = makeStorage(clock);
    const emails = new Queue<{ to: string }>('emails', { storage, maxAttempts: 2, backoff: { initial: 1_000, jitter: 'none' } });
    emails.consume(async () => {
      throw new Error('smtp down');
    });
    await emails.send({ to: 'a@example.com' });
    await clock.runAll();

    const view = await inspect(storage);
    expect(Object.keys(view)).toEqual(['emails', 'emails.dlq']);
    expect(view.emails!.dead).toEqual([
      expect.objectContaining({
        body: { to: 'a@example.com' },
        headers: expect.objectContaining({ 'x-dead-reason': 'max-attempts', 'x-dead-error': 'smtp down', 'x-original-queue': 'emails' }),
      }),
    ]);
    expect(view.emails!.stats).toMatchObject({ ready: 0, delayed: 0, inflight: 0, retried: 1, deadLettered: 1 });
    expect(view['emails.dlq']!.ready.map((m) => m.body)).toEqual([{ to: 'a@example.com' }]);
    expect(view['emails.dlq']!.dead).toEqual([]);
  });

  it('returns copies: a later change to the queue does not show in an earlier view', async () => {
    const clock = new TestClock();
    const storage = makeStorage(clock);
    const jobs = new Queue<number>('jobs', { storage });
    await jobs.send(1);
    const before = await inspect(storage);
    const [msg] = await jobs.receive();
    await msg!.ack();
    expect(before.jobs!.ready.map((m) => ({ body: m.body, attempt: m.attempt }))).toEqual([{ body: 1, attempt: 0 }]);
    expect((await inspect(storage)).jobs!.ready).toEqual([]);
  });
});

describe('inspect()', () => {
  it('rejects what is not a storage, and a storage that cannot list its messages, naming `storage`', async () => {
    await expect(inspect(undefined as never)).rejects.toThrow(/Expected `storage` to be a storage/);
    const listless = { clock: new TestClock() } as unknown as Storage;
    await expect(inspect(listless)).rejects.toThrow(InvalidArgumentError);
    await expect(inspect(listless)).rejects.toThrow(/MemoryStorage or FileStorage/);
  });

  it('an empty storage gives an empty view', async () => {
    expect(await inspect(new MemoryStorage({ clock: new TestClock() }))).toEqual({});
  });
});
