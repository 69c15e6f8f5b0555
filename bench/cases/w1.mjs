// W1: send N `{ id }` messages, then drain them with an async no-op handler at a given concurrency.
// Every subject returns { n, sendMs, drainMs }; the orchestrator turns them into rates.
import { createRequire } from 'node:module';
import { now, pipelined, pocketmq } from '../lib.mjs';

const require = createRequire(import.meta.url);
const noop = async () => {};

export const subjects = {
  /** Full ack semantics: leases, acks, idle(). Sends are awaited, 1,000 in flight. */
  async pocketmq({ n, concurrency }) {
    const { MemoryStorage, Queue } = await pocketmq();
    const queue = new Queue('w1', { storage: new MemoryStorage() });
    const t0 = now();
    await pipelined(n, (i) => queue.send({ id: i }));
    const t1 = now();
    const consumer = queue.consume(noop, { concurrency });
    await queue.idle();
    const t2 = now();
    await consumer.stop();
    return { n, sendMs: t1 - t0, drainMs: t2 - t1 };
  },

  /** fastq's promise API (what an async handler uses), paused while filling. */
  async fastq({ n, concurrency }) {
    const fastq = require('fastq');
    const queue = fastq.promise(noop, concurrency);
    queue.pause();
    const t0 = now();
    for (let i = 0; i < n; i++) queue.push({ id: i });
    const t1 = now();
    const drained = queue.drained();
    queue.resume();
    await drained;
    return { n, sendMs: t1 - t0, drainMs: now() - t1 };
  },

  async 'p-queue'({ n, concurrency }) {
    const { default: PQueue } = await import('p-queue');
    const queue = new PQueue({ concurrency, autoStart: false });
    const t0 = now();
    for (let i = 0; i < n; i++) {
      const body = { id: i };
      queue.add(() => noop(body));
    }
    const t1 = now();
    queue.start();
    await queue.onIdle();
    return { n, sendMs: t1 - t0, drainMs: now() - t1 };
  },

  async 'better-queue'({ n, concurrency }) {
    const BetterQueue = require('better-queue');
    const queue = new BetterQueue((task, done) => void noop(task).then(() => done()), { concurrent: concurrency, afterProcessDelay: 0 });
    queue.pause();
    const t0 = now();
    for (let i = 0; i < n; i++) queue.push({ id: i });
    const t1 = now();
    await new Promise((resolve) => {
      queue.on('drain', resolve);
      queue.resume();
    });
    const t2 = now();
    queue.destroy(() => {});
    return { n, sendMs: t1 - t0, drainMs: t2 - t1 };
  },

  /** The floor: a power-of-two ring buffer and `await handler()` per item, `concurrency` loops. */
  async 'ring buffer'({ n, concurrency }) {
    let size = 1024;
    while (size < n) size *= 2;
    const ring = new Array(size);
    const mask = size - 1;
    let head = 0;
    let tail = 0;
    const t0 = now();
    for (let i = 0; i < n; i++) ring[tail++ & mask] = { id: i };
    const t1 = now();
    const worker = async () => {
      while (head < tail) {
        const item = ring[head & mask];
        ring[head++ & mask] = undefined;
        await noop(item);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return { n, sendMs: t1 - t0, drainMs: now() - t1 };
  },
};
