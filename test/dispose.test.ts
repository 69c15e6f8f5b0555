import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClosedError } from '../src/errors.js';
import { FileStorage } from '../src/file.js';
import { MemoryStorage, Queue, RequestReply, Topic } from '../src/index.js';
import { RedisStorage } from '../src/redis.js';
import { TestClock } from '../src/test-clock.js';

describe('Symbol.asyncDispose (`await using`)', () => {
  it('is the symbol Node defines, Symbol.for("nodejs.asyncDispose")', () => {
    expect(Symbol.asyncDispose).toBe(Symbol.for('nodejs.asyncDispose'));
  });

  it('closes a storage and its Queue, Topic and RequestReply handles at the end of the block', async () => {
    const clock = new TestClock();
    let outer: MemoryStorage;
    let queue: Queue<string>;
    let topic: Topic<string>;
    let rpc: RequestReply<number, number>;
    {
      await using storage = new MemoryStorage({ clock });
      outer = storage;
      await using q = new Queue<string>('jobs', { storage });
      await using t = new Topic<string>('events', { storage });
      await using r = new RequestReply<number, number>('double', { storage });
      [queue, topic, rpc] = [q, t, r];
      await q.send('inside');
      expect(await q.stats()).toMatchObject({ ready: 1 });
    }
    await expect(queue.send('after')).rejects.toBeInstanceOf(ClosedError);
    await expect(topic.publish('after')).rejects.toBeInstanceOf(ClosedError);
    await expect(rpc.request(1)).rejects.toBeInstanceOf(ClosedError);
    await expect(outer.open()).rejects.toBeInstanceOf(ClosedError);
  });

  it('stops a Consumer and a Subscription at the end of the block, letting a running handler finish', async () => {
    const storage = new MemoryStorage({ clock: new TestClock() });
    const queue = new Queue<string>('jobs', { storage });
    const topic = new Topic<string>('events', { storage });
    const handled: string[] = [];
    let audit!: Queue<string>;
    {
      await using consumer = queue.consume(async (msg) => void handled.push(msg.body));
      await using subscription = topic.subscribe('audit', async (msg) => void handled.push(`topic:${msg.body}`));
      await subscription.ready;
      audit = subscription.queue!;
      await queue.send('a');
      await topic.publish('b');
      await queue.idle();
      await subscription.queue!.idle();
    }
    await queue.send('after the block');
    await topic.publish('after the block');
    expect(handled.sort()).toEqual(['a', 'topic:b']);
    expect(await queue.stats()).toMatchObject({ ready: 1 });
    expect(await audit.stats()).toMatchObject({ ready: 1 });
    await storage.close();
  });

  it('closes a FileStorage, releasing its directory for the next open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pocketmq-dispose-'));
    try {
      {
        await using storage = new FileStorage({ dir });
        await new Queue<string>('jobs', { storage }).send('kept');
      }
      await using again = new FileStorage({ dir });
      expect(await new Queue<string>('jobs', { storage: again }).stats()).toMatchObject({ ready: 1 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is on RedisStorage too, as close()', () => {
    const storage = new RedisStorage({ url: 'redis://127.0.0.1:1', prefix: 'never-connects' });
    expect(typeof storage[Symbol.asyncDispose]).toBe('function');
    return expect(storage[Symbol.asyncDispose]().then(() => storage.stats('jobs', 0))).rejects.toBeInstanceOf(ClosedError);
  });
});
