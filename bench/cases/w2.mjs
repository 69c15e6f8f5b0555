// W2: a producer and a consumer in the same process; latency from the send call to the
// handler's start. Paced: one message every 1 / rate s, each send awaited. Bursty (`burst`
// set): `burst` sends every burst / rate s, called in a loop without awaiting each, then
// awaited together, as a bursty producer does. Each subject returns { n, p50, p99, p999, max } in µs.
import { createRequire } from 'node:module';
import { latch, now, percentile, pocketmq, tick } from '../lib.mjs';

const require = createRequire(import.meta.url);

/**
 * Runs the producer `produce(send, stamp, n)` against the subject made by `setup`. With
 * `sample` k > 1 only every k-th message is timed: a clock read costs ~0.3 µs on this VM,
 * and two per message would add tens of µs to a burst of 100 for every subject alike.
 */
async function measure({ rate, seconds, warmup, sample = 1 }, setup, produce) {
  const n = Math.round(rate * seconds);
  const sentAt = new Float64Array(n);
  const gotAt = new Float64Array(n);
  const done = latch();
  let count = 0;
  const send = await setup(
    sample === 1
      ? (i) => {
          gotAt[i] = now();
          if (++count === n) done.resolve();
        }
      : (i) => {
          if (i % sample === 0) gotAt[i] = now();
          if (++count === n) done.resolve();
        },
  );
  const stamp = sample === 1 ? (i) => (sentAt[i] = now()) : (i) => i % sample === 0 && (sentAt[i] = now());
  await produce(send, stamp, n);
  await done.promise;
  const latencies = [];
  for (let i = Math.ceil((n * warmup) / sample) * sample; i < n; i += sample) latencies.push((gotAt[i] - sentAt[i]) * 1000);
  latencies.sort((a, b) => a - b);
  return { n, p50: percentile(latencies, 50), p99: percentile(latencies, 99), p999: percentile(latencies, 99.9), max: latencies[latencies.length - 1] };
}

/**
 * Sends message i at start + i / rate (spinning on setImmediate in between, so the consumer
 * runs freely), with `send(i)` awaited; the handler calls `handled(i)`.
 */
function paced(params, setup) {
  return measure(params, setup, async (send, stamp, n) => {
    const interval = 1000 / params.rate;
    const start = now() + 10;
    for (let i = 0; i < n; i++) {
      const due = start + i * interval;
      while (now() < due) await tick();
      stamp(i);
      await send(i);
    }
  });
}

/**
 * Sends `burst` messages at start + k * burst / rate: `send(i)` called for each without
 * awaiting it, then the burst's results awaited together. In between the process sleeps on
 * a timer, as a producer woken by a timer or by I/O does: spinning on setImmediate as W2
 * does allocated a scavenge's worth per burst, whose pauses landed in every row's tail.
 */
function bursty(params, setup) {
  return measure(params, setup, async (send, stamp, n) => {
    const { burst, rate } = params;
    const interval = (1000 * burst) / rate;
    const start = now() + 10;
    const results = new Array(burst);
    for (let first = 0, k = 0; first < n; first += burst, k++) {
      const due = start + k * interval;
      if (due > now()) await new Promise((resolve) => setTimeout(resolve, due - now()));
      const end = Math.min(n, first + burst);
      if (end - first < burst) results.length = end - first;
      for (let i = first; i < end; i++) {
        stamp(i);
        results[i - first] = send(i);
      }
      await Promise.all(results);
    }
  });
}

const drive = (params, setup) => (params.burst ? bursty(params, setup) : paced(params, setup));

export const subjects = {
  async pocketmq(params) {
    const { MemoryStorage, Queue } = await pocketmq();
    const queue = new Queue('w2', { storage: new MemoryStorage() });
    return drive(params, (handled) => {
      queue.consume(async (msg) => handled(msg.body.id));
      return (i) => queue.send({ id: i });
    });
  },

  async fastq(params) {
    const fastq = require('fastq');
    return drive(params, (handled) => {
      const queue = fastq.promise(async (body) => handled(body.id), 1);
      return (i) => void queue.push({ id: i });
    });
  },

  async 'p-queue'(params) {
    const { default: PQueue } = await import('p-queue');
    return drive(params, (handled) => {
      const queue = new PQueue({ concurrency: 1 });
      return (i) => {
        const body = { id: i };
        void queue.add(async () => handled(body.id));
      };
    });
  },

  async mqemitter(params) {
    const mqemitter = require('mqemitter');
    return drive(params, (handled) => {
      const mq = mqemitter();
      mq.on('w2', (msg, cb) => {
        handled(msg.id);
        cb();
      });
      return (i) => new Promise((resolve) => mq.emit({ topic: 'w2', id: i }, resolve));
    });
  },

  /**
   * mqemitter as a one-at-a-time consumer: `concurrency: 1` and an `async` listener that
   * calls back at once. It still calls the listener inside `emit()`: no queue to wait in.
   */
  async 'mqemitter async'(params) {
    const mqemitter = require('mqemitter');
    return drive(params, (handled) => {
      const mq = mqemitter({ concurrency: 1 });
      mq.on('w2', async (msg, cb) => {
        handled(msg.id);
        cb();
      });
      return (i) => new Promise((resolve) => mq.emit({ topic: 'w2', id: i }, resolve));
    });
  },

  /** The floor: a ring buffer and one consumer loop that awaits the next push when empty. */
  async 'ring buffer'(params) {
    return drive(params, (handled) => {
      const ring = new Array(1 << 16);
      const mask = ring.length - 1;
      let head = 0;
      let tail = 0;
      let wake;
      const handler = async (body) => handled(body.id);
      (async () => {
        for (;;) {
          while (head === tail) await new Promise((resolve) => (wake = resolve));
          const item = ring[head & mask];
          ring[head++ & mask] = undefined;
          await handler(item);
        }
      })();
      return (i) => {
        ring[tail++ & mask] = { id: i };
        if (wake) {
          const w = wake;
          wake = undefined;
          w();
        }
      };
    });
  },
};
