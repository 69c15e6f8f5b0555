import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_HEADERS, MemoryStorage, Message, Queue, type QueueOptions } from '../src/index.js';
import { TestClock } from '../src/testing.js';

function setup<T = unknown>(options: Omit<QueueOptions, 'storage'> = {}) {
  const clock = new TestClock();
  const storage = new MemoryStorage({ clock });
  const queue = new Queue<T>('tasks', { storage, ...options });
  const dlq = new Queue<T>('tasks.dlq', { storage });
  return { clock, storage, queue, dlq };
}

async function receiveOne<T>(queue: Queue<T>): Promise<Message<T>> {
  const [msg] = await queue.receive();
  if (!msg) throw new Error('expected a message');
  return msg;
}

describe('Message', () => {
  it('Message - carries id, body, headers, attempt and enqueuedAt', async () => {
    const { queue, clock } = setup<string>();
    await clock.advance(1_234);
    const id = await queue.send('hi', { headers: { a: 'b' } });
    await clock.advance(10);
    const msg = await receiveOne(queue);
    expect(msg).toBeInstanceOf(Message);
    expect(msg).toMatchObject({ id, body: 'hi', headers: { a: 'b' }, attempt: 1, enqueuedAt: 1_234 });
    expect(msg.settled).toBe(false);
  });

  describe('.ack()', () => {
    it('.ack() - removes the message and resolves true', async () => {
      const { queue, clock } = setup({ visibilityTimeout: 100 });
      await queue.send('x');
      const msg = await receiveOne(queue);
      expect(await msg.ack()).toBe(true);
      expect(msg.settled).toBe(true);
      await clock.advance(1_000);
      expect(await queue.receive()).toEqual([]);
      expect(await queue.stats()).toMatchObject({ ready: 0, inflight: 0, acked: 1 });
    });

    it('.ack() - a second settle of the same delivery rejects', async () => {
      const { queue } = setup();
      await queue.send('x');
      const msg = await receiveOne(queue);
      await msg.ack();
      await expect(msg.ack()).rejects.toThrow(/already settled/);
      await expect(msg.nack()).rejects.toThrow(/already settled/);
      await expect(msg.deadLetter('x')).rejects.toThrow(/already settled/);
      await expect(msg.extend(1_000)).rejects.toThrow(/already settled/);
    });

    it('.ack() - after the lease ran out resolves false and the message is redelivered with attempt + 1', async () => {
      const { queue, clock } = setup({ visibilityTimeout: 1_000 });
      const id = await queue.send('x');
      const first = await receiveOne(queue);
      await clock.advance(1_000);
      expect(await first.ack()).toBe(false);
      const second = await receiveOne(queue);
      expect(second).toMatchObject({ id, attempt: 2 });
      expect(await second.ack()).toBe(true);
    });

    it('.ack() - a stale delivery cannot ack the newer delivery of the same message', async () => {
      const { queue, clock } = setup({ visibilityTimeout: 1_000 });
      await queue.send('x');
      const first = await receiveOne(queue);
      await clock.advance(1_000);
      const second = await receiveOne(queue);
      expect(await first.ack()).toBe(false);
      expect(await queue.stats()).toMatchObject({ inflight: 1, acked: 0 });
      expect(await second.ack()).toBe(true);
    });
  });

  describe('.nack()', () => {
    it('.nack({ delay }) - redelivers after delay with attempt + 1', async () => {
      const { queue, clock } = setup();
      const id = await queue.send('x');
      const msg = await receiveOne(queue);
      expect(await msg.nack({ delay: 500 })).toBe(true);
      expect(await queue.stats()).toMatchObject({ delayed: 1, retried: 1 });
      await clock.advance(499);
      expect(await queue.receive()).toEqual([]);
      await clock.advance(1);
      expect(await receiveOne(queue)).toMatchObject({ id, attempt: 2 });
    });

    it('.nack({ delay: 0 }) - makes the message deliverable at once', async () => {
      const { queue } = setup();
      await queue.send('x');
      await (await receiveOne(queue)).nack({ delay: 0 });
      expect(await receiveOne(queue)).toMatchObject({ attempt: 2 });
    });

    it('.nack() - without a delay waits the queue backoff', async () => {
      const { queue, clock } = setup({ backoff: { initial: 300, jitter: 'none' } });
      await queue.send('x');
      await (await receiveOne(queue)).nack();
      await clock.advance(299);
      expect(await queue.receive()).toEqual([]);
      await clock.advance(1);
      expect(await receiveOne(queue)).toMatchObject({ attempt: 2 });
    });

    it('.nack() - on the last attempt dead-letters the message', async () => {
      const { queue, dlq } = setup<string>({ maxAttempts: 1 });
      await queue.send('x');
      expect(await (await receiveOne(queue)).nack({ delay: 0 })).toBe(true);
      expect(await queue.stats()).toMatchObject({ ready: 0, delayed: 0, deadLettered: 1 });
      const dead = await receiveOne(dlq);
      expect(dead.headers).toMatchObject({ [DEAD_LETTER_HEADERS.reason]: 'max-attempts', [DEAD_LETTER_HEADERS.attempts]: '1' });
    });

    it('.nack() - after the lease ran out resolves false', async () => {
      const { queue, clock } = setup({ visibilityTimeout: 100 });
      await queue.send('x');
      const msg = await receiveOne(queue);
      await clock.advance(100);
      expect(await msg.nack({ delay: 10_000 })).toBe(false);
      expect(await receiveOne(queue)).toMatchObject({ attempt: 2 });
    });
  });

  describe('.deadLetter()', () => {
    it('.deadLetter(reason) - moves the message to the dead-letter queue with the reason now', async () => {
      const { queue, dlq } = setup<string>({ maxAttempts: 5 });
      const id = await queue.send('x', { headers: { h: 'v' } });
      const msg = await receiveOne(queue);
      expect(await msg.deadLetter('invalid payload')).toBe(true);
      expect(await queue.stats()).toMatchObject({ ready: 0, inflight: 0, deadLettered: 1 });
      const dead = await receiveOne(dlq);
      expect(dead).toMatchObject({ id, body: 'x' });
      expect(dead.headers).toMatchObject({
        h: 'v',
        [DEAD_LETTER_HEADERS.reason]: 'invalid payload',
        [DEAD_LETTER_HEADERS.queue]: 'tasks',
        [DEAD_LETTER_HEADERS.attempts]: '1',
      });
      expect(dead.headers[DEAD_LETTER_HEADERS.error]).toBeUndefined();
    });

    it(".deadLetter() - without a reason uses 'rejected'", async () => {
      const { queue, dlq } = setup();
      await queue.send('x');
      await (await receiveOne(queue)).deadLetter();
      expect((await receiveOne(dlq)).headers[DEAD_LETTER_HEADERS.reason]).toBe('rejected');
    });

    it('.deadLetter() - goes to the configured deadLetter queue', async () => {
      const { queue, storage } = setup({ deadLetter: 'graveyard' });
      await queue.send('x');
      await (await receiveOne(queue)).deadLetter('r');
      expect(await new Queue('graveyard', { storage }).stats()).toMatchObject({ ready: 1 });
    });

    it('.deadLetter() - after the lease ran out resolves false and nothing is dead-lettered', async () => {
      const { queue, clock, dlq } = setup({ visibilityTimeout: 100 });
      await queue.send('x');
      const msg = await receiveOne(queue);
      await clock.advance(100);
      expect(await msg.deadLetter('late')).toBe(false);
      expect(await dlq.stats()).toMatchObject({ ready: 0 });
    });
  });

  describe('.extend()', () => {
    it('.extend(ms) - moves the end of the lease to ms from now', async () => {
      const { queue, clock } = setup({ visibilityTimeout: 1_000 });
      await queue.send('x');
      const msg = await receiveOne(queue);
      await clock.advance(500);
      expect(await msg.extend(5_000)).toBe(true);
      await clock.advance(4_999);
      expect(await queue.receive()).toEqual([]);
      await clock.advance(1);
      expect(await receiveOne(queue)).toMatchObject({ attempt: 2 });
    });

    it('.extend(ms) - keeps the delivery valid for ack past the original timeout', async () => {
      const { queue, clock } = setup({ visibilityTimeout: 1_000 });
      await queue.send('x');
      const msg = await receiveOne(queue);
      await msg.extend(10_000);
      await clock.advance(9_000);
      expect(await msg.ack()).toBe(true);
    });

    it('.extend(ms) - after the lease ran out resolves false', async () => {
      const { queue, clock } = setup({ visibilityTimeout: 1_000 });
      await queue.send('x');
      const msg = await receiveOne(queue);
      await clock.advance(1_000);
      expect(await msg.extend(1_000)).toBe(false);
    });
  });
});
