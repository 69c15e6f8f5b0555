// W3: a topic with `subscribers` subscribers and `n` publishes (1,000 in flight); time until
// every subscriber has handled every message. Each subject returns { n, ms }.
import { createRequire } from 'node:module';
import { Skip, latch, now, pipelined, pocketmq } from '../lib.mjs';

const require = createRequire(import.meta.url);

async function topicClass() {
  const mod = await pocketmq();
  if (!mod.Topic) throw new Skip('pocketmq does not export Topic yet (src/topic.ts has not landed)');
  return mod;
}

/**
 * pocketmq Topic. `kind`: 'durable' — named subscribers (a queue each, acked) with an
 * async no-op handler; 'live' — live listeners that are plain synchronous no-ops, the
 * same work as mqemitter's `(msg, cb) => cb()`; 'live async' — live listeners that are
 * `async` no-ops (each call makes a promise, to which the topic attaches a rejection
 * handler: informative, not like-for-like with mqemitter).
 */
async function pocketmqTopic({ n, subscribers }, kind) {
  const { MemoryStorage, Topic } = await topicClass();
  const topic = new Topic('w3', { storage: new MemoryStorage() });
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
  const subscriptions = [];
  for (let s = 0; s < subscribers; s++) subscriptions.push(kind === 'durable' ? topic.subscribe(`sub-${s}`, handler) : topic.subscribe(handler));
  const t0 = now();
  await pipelined(n, (i) => topic.publish({ id: i }));
  await done.promise;
  // Graceful stop waits for the last acks, so the time covers full delivery.
  await Promise.all(subscriptions.map((s) => s.stop()));
  return { n, ms: now() - t0 };
}

export const subjects = {
  'pocketmq live': (params) => pocketmqTopic(params, 'live'),
  'pocketmq live async': (params) => pocketmqTopic(params, 'live async'),
  'pocketmq durable': (params) => pocketmqTopic(params, 'durable'),

  async mqemitter({ n, subscribers }) {
    const mq = require('mqemitter')();
    for (let s = 0; s < subscribers; s++) mq.on('w3', (msg, cb) => cb());
    const t0 = now();
    await pipelined(n, (i) => new Promise((resolve) => mq.emit({ topic: 'w3', id: i }, resolve)));
    return { n, ms: now() - t0 };
  },
};
