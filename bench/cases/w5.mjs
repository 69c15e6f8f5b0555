// W5: heap held per pending message, and send cost per message, at a given depth.
// Run with --expose-gc. Each subject returns { n, bytesPerMsg, nsPerMsg }.
import { createRequire } from 'node:module';
import { now, pipelined, pocketmq } from '../lib.mjs';

const require = createRequire(import.meta.url);

function heap() {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
}

/** Measures around `fill`, which must leave n messages pending and return something that holds them. */
async function measure(n, fill) {
  const before = heap();
  const t0 = now();
  const holder = await fill();
  const elapsed = now() - t0;
  const after = heap();
  globalThis.keep = holder;
  return { n, bytesPerMsg: (after - before) / n, nsPerMsg: (elapsed * 1e6) / n };
}

export const subjects = {
  async pocketmq({ n }) {
    const { MemoryStorage, Queue } = await pocketmq();
    const storage = new MemoryStorage();
    const queue = new Queue('w5', { storage });
    await queue.send({ id: -1 }); // warm the queue's structures outside the measurement
    return measure(n, async () => {
      await pipelined(n, (i) => queue.send({ id: i }));
      return queue;
    });
  },

  async fastq({ n }) {
    const fastq = require('fastq');
    const queue = fastq.promise(async () => {}, 1);
    queue.pause();
    return measure(n, async () => {
      for (let i = 0; i < n; i++) queue.push({ id: i });
      return queue;
    });
  },

  async 'p-queue'({ n }) {
    const { default: PQueue } = await import('p-queue');
    const queue = new PQueue({ concurrency: 1, autoStart: false });
    return measure(n, async () => {
      for (let i = 0; i < n; i++) {
        const body = { id: i };
        queue.add(async () => body);
      }
      return queue;
    });
  },
};
