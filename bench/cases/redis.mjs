// RedisStorage against BullMQ and bee-queue on the same redis-server (REDIS_PORT, started by the orchestrator):
// end to end = send n messages (each awaited, or `inFlight` at a time), then consume + ack them
// with concurrency 16. Each subject returns { n, ms, endToEndMs }.
import { Skip, bodyOfSize, latch, now, pipelined, pocketmq } from '../lib.mjs';

function redisPort() {
  const port = Number(process.env.REDIS_PORT);
  if (!port) throw new Skip('no redis-server to run on');
  return port;
}

/** Sends with `send(i)`, awaited one by one or `inFlight` at a time. */
async function sendAll(n, inFlight, send) {
  if (inFlight > 1) await pipelined(n, send, inFlight);
  else for (let i = 0; i < n; i++) await send(i);
}

async function pocketmqRedis({ n, bytes, inFlight }) {
  const port = redisPort();
  const { RedisStorage } = await pocketmq('/redis');
  const { Queue } = await pocketmq();
  const storage = new RedisStorage({ url: `redis://127.0.0.1:${port}`, prefix: `bench-${process.pid}` });
  await storage.open();
  const queue = new Queue('e2e', { storage });
  const bodies = Array.from({ length: n }, (_, i) => bodyOfSize(i, bytes));
  const t0 = now();
  await sendAll(n, inFlight, (i) => queue.send(bodies[i]));
  const t1 = now();
  const done = latch();
  let count = 0;
  const consumer = queue.consume(
    async () => {
      if (++count === n) done.resolve();
    },
    { concurrency: 16 },
  );
  await done.promise;
  // The last acks are batched per tick: wait until they are stored, as BullMQ's 'completed' does.
  await consumer.stop();
  const t2 = now();
  const stats = await queue.stats();
  if (stats.acked !== n) throw new Error(`acked ${stats.acked} of ${n}`);
  await storage.close();
  return { n, ms: t1 - t0, endToEndMs: t2 - t0 };
}

async function bullmq({ n, bytes, inFlight }) {
  const port = redisPort();
  const { Queue, Worker } = await import('bullmq');
  setTimeout(() => {
    console.error('bullmq: no result after 60 s (is the redis-server still up?)');
    process.exit(1);
  }, 60_000).unref();
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  const name = `e2e-${process.pid}`;
  const queue = new Queue(name, { connection });
  await queue.obliterate({ force: true });
  const bodies = Array.from({ length: n }, (_, i) => bodyOfSize(i, bytes));
  const t0 = now();
  await sendAll(n, inFlight, (i) => queue.add('bench', bodies[i], { removeOnComplete: true }));
  const t1 = now();
  const done = latch();
  let count = 0;
  const worker = new Worker(name, async () => {}, { connection, concurrency: 16 });
  worker.on('completed', () => {
    if (++count === n) done.resolve();
  });
  await done.promise;
  const t2 = now();
  await worker.close();
  await queue.close();
  return { n, ms: t1 - t0, endToEndMs: t2 - t0 };
}

async function beeQueue({ n, bytes, inFlight }) {
  const port = redisPort();
  const { default: BeeQueue } = await import('bee-queue');
  setTimeout(() => {
    console.error('bee-queue: no result after 60 s (is the redis-server still up?)');
    process.exit(1);
  }, 60_000).unref();
  const redis = { host: '127.0.0.1', port };
  const name = `e2e-${process.pid}`;
  // Like BullMQ's Queue and Worker: a producer that only adds, and a worker that removes jobs
  // on success. 'succeeded' fires once the job's completion is stored (BullMQ's 'completed');
  // neither subscribes to the job events, which nothing here listens to.
  const producer = new BeeQueue(name, { redis, isWorker: false, getEvents: false });
  const worker = new BeeQueue(name, { redis, getEvents: false, removeOnSuccess: true });
  await Promise.all([producer.ready(), worker.ready()]);
  const bodies = Array.from({ length: n }, (_, i) => bodyOfSize(i, bytes));
  const t0 = now();
  await sendAll(n, inFlight, (i) => producer.createJob(bodies[i]).save());
  const t1 = now();
  const done = latch();
  let count = 0;
  worker.on('succeeded', () => {
    if (++count === n) done.resolve();
  });
  worker.process(16, async () => {});
  await done.promise;
  const t2 = now();
  await worker.destroy();
  await Promise.all([worker.close(), producer.close()]);
  return { n, ms: t1 - t0, endToEndMs: t2 - t0 };
}

export const subjects = {
  'pocketmq sequential': (params) => pocketmqRedis({ ...params, inFlight: 1 }),
  'pocketmq in flight': pocketmqRedis,
  'bullmq sequential': (params) => bullmq({ ...params, inFlight: 1 }),
  'bullmq in flight': bullmq,
  'bee-queue sequential': (params) => beeQueue({ ...params, inFlight: 1 }),
  'bee-queue in flight': beeQueue,
};
