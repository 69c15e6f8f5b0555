// W3: a topic with `subscribers` subscribers and `n` publishes (`inFlight` at a time, 1,000 by
// default); time until every subscriber has handled every message. Each subject returns
// { n, ms }; with `latency` set, also the publish → first listener's start latency in µs
// (p50, p99) of every `sample`-th message, warm-up (the first 10 %) dropped.
import { createRequire } from 'node:module';
import { Skip, latch, now, percentile, pipelined, pocketmq } from '../lib.mjs';

const require = createRequire(import.meta.url);

async function topicClass() {
  const mod = await pocketmq();
  if (!mod.Topic) throw new Skip('pocketmq does not export Topic yet (src/topic.ts has not landed)');
  return mod;
}

/**
 * Stamps the publish call of every `sample`-th message and its first subscriber's handler
 * start (`started(i)`) when `latency` is set; otherwise no clock is read. A clock read costs
 * ~0.3 µs on this VM: two per publish would weigh on the publishes/s of both sides.
 */
function stamps({ n, latency, sample = 1 }) {
  if (!latency) return { started: () => {}, stamped: (publish) => publish, summary: () => ({}) };
  const sentAt = new Float64Array(n);
  const gotAt = new Float64Array(n);
  return {
    started: (i) => {
      if (i % sample === 0) gotAt[i] = now();
    },
    stamped: (publish) => (i) => {
      if (i % sample === 0) sentAt[i] = now();
      return publish(i);
    },
    summary: () => {
      const latencies = [];
      for (let i = Math.ceil(n / 10 / sample) * sample; i < n; i += sample) latencies.push((gotAt[i] - sentAt[i]) * 1000);
      latencies.sort((a, b) => a - b);
      return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
    },
  };
}

/**
 * pocketmq Topic. `kind`: 'durable' — named subscribers (a queue each, acked) with an
 * async no-op handler; 'live' — live listeners that are plain synchronous no-ops, the
 * same work as mqemitter's `(msg, cb) => cb()`; 'live async' — live listeners that are
 * `async` no-ops (each call makes a promise, to which the topic attaches a rejection
 * handler; mqemitter's like-for-like is `async (msg, cb) => { cb() }`).
 */
async function pocketmqTopic(params, kind) {
  const { n, subscribers, inFlight = 1000 } = params;
  const { MemoryStorage, Topic } = await topicClass();
  const topic = new Topic('w3', { storage: new MemoryStorage() });
  const { started, stamped, summary } = stamps(params);
  const done = latch();
  const total = n * subscribers;
  let count = 0;
  const handler =
    kind === 'live'
      ? () => {
          if (++count === total) done.resolve();
        }
      : async () => {
          if (++count === total) done.resolve();
        };
  const first =
    kind === 'live'
      ? (msg) => {
          started(msg.body.id);
          if (++count === total) done.resolve();
        }
      : async (msg) => {
          started(msg.body.id);
          if (++count === total) done.resolve();
        };
  const subscriptions = [];
  for (let s = 0; s < subscribers; s++) {
    const h = params.latency && s === 0 ? first : handler;
    subscriptions.push(kind === 'durable' ? topic.subscribe(`sub-${s}`, h) : topic.subscribe(h));
  }
  const t0 = now();
  await pipelined(n, stamped((i) => topic.publish({ id: i })), inFlight);
  await done.promise;
  // Graceful stop waits for the last acks, so the time covers full delivery.
  await Promise.all(subscriptions.map((s) => s.stop()));
  return { n, ms: now() - t0, ...summary() };
}

/** mqemitter; `async`: each listener is `async (msg, cb) => { cb() }`, else `(msg, cb) => cb()`. */
async function mqemitterTopic(params, async) {
  const { n, subscribers, inFlight = 1000 } = params;
  const mq = require('mqemitter')();
  const { started, stamped, summary } = stamps(params);
  for (let s = 0; s < subscribers; s++) {
    const first = params.latency && s === 0;
    if (!async) mq.on('w3', first ? (msg, cb) => (started(msg.id), cb()) : (msg, cb) => cb());
    else if (first) {
      mq.on('w3', async (msg, cb) => {
        started(msg.id);
        cb();
      });
    } else {
      mq.on('w3', async (msg, cb) => {
        cb();
      });
    }
  }
  const t0 = now();
  await pipelined(n, stamped((i) => new Promise((resolve) => mq.emit({ topic: 'w3', id: i }, resolve))), inFlight);
  return { n, ms: now() - t0, ...summary() };
}

export const subjects = {
  'pocketmq live': (params) => pocketmqTopic(params, 'live'),
  'pocketmq live async': (params) => pocketmqTopic(params, 'live async'),
  'pocketmq durable': (params) => pocketmqTopic(params, 'durable'),
  mqemitter: (params) => mqemitterTopic(params, false),
  'mqemitter async': (params) => mqemitterTopic(params, true),
};
