// W4: FileStorage against raw file appends, plainjob (SQLite) and BullMQ (Redis).
// Each subject returns { n, ms } (and `endToEndMs` for the consume cases).
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Skip, bodyOfSize, latch, now, pipelined, pocketmq } from '../lib.mjs';

const require = createRequire(import.meta.url);

function freshDir(name) {
  const dir = join(process.env.BENCH_WORK ?? '.work', `${name}-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** `encrypted`: every body goes through `encryption()` of pocketmq/crypto with a random key. */
async function fileQueue(name, fsync, encrypted = false) {
  const { FileStorage } = await pocketmq('/file');
  const { Queue } = await pocketmq();
  const dir = freshDir(name);
  const codec = encrypted ? (await pocketmq('/crypto')).encryption({ keys: { bench: randomBytes(32) }, current: 'bench' }) : undefined;
  const storage = new FileStorage(codec ? { dir, fsync, codec } : { dir, fsync });
  await storage.open();
  const queue = new Queue(name, { storage });
  return { queue, storage, dir };
}

export const subjects = {
  /** Each send awaited before the next. */
  async 'pocketmq sequential'({ n, bytes, fsync, encrypted }) {
    const { queue, storage, dir } = await fileQueue('seq', fsync, encrypted);
    const bodies = Array.from({ length: n }, (_, i) => bodyOfSize(i, bytes));
    const t0 = now();
    for (let i = 0; i < n; i++) await queue.send(bodies[i]);
    const ms = now() - t0;
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
    return { n, ms };
  },

  /** `inFlight` sends at a time: group commit serves them with one write and one fsync. */
  async 'pocketmq pipelined'({ n, bytes, fsync, inFlight, encrypted }) {
    const { queue, storage, dir } = await fileQueue('pipe', fsync, encrypted);
    const bodies = Array.from({ length: n }, (_, i) => bodyOfSize(i, bytes));
    const t0 = now();
    await pipelined(n, (i) => queue.send(bodies[i]), inFlight);
    const ms = now() - t0;
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
    return { n, ms };
  },

  /** Sends each awaited, then a consumer (concurrency 16) drains and acks them all. */
  async 'pocketmq end to end'({ n, bytes, fsync }) {
    const { queue, storage, dir } = await fileQueue('e2e', fsync);
    const t0 = now();
    for (let i = 0; i < n; i++) await queue.send(bodyOfSize(i, bytes));
    const t1 = now();
    const consumer = queue.consume(async () => {}, { concurrency: 16 });
    await queue.idle();
    const t2 = now();
    await consumer.stop();
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
    return { n, ms: t1 - t0, endToEndMs: t2 - t0 };
  },

  /** The floor: one write per record and an fsync after every `every` records. */
  async 'raw append'({ n, bytes, every }) {
    const dir = freshDir('raw');
    const fd = openSync(join(dir, 'log'), 'a', 0o600);
    const record = Buffer.from(JSON.stringify(bodyOfSize(0, bytes)));
    const t0 = now();
    for (let i = 1; i <= n; i++) {
      writeSync(fd, record);
      if (i % every === 0) fsyncSync(fd);
    }
    if (n % every !== 0) fsyncSync(fd);
    const ms = now() - t0;
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
    return { n, ms };
  },

  /** plainjob on better-sqlite3 (WAL, synchronous=NORMAL: no fsync per add). add() is synchronous. */
  async plainjob({ n, bytes }) {
    const Database = require('better-sqlite3');
    const { better, defineQueue } = await import('plainjob');
    const dir = freshDir('plainjob');
    const queue = defineQueue({ connection: better(new Database(join(dir, 'queue.db'))), logger: { error() {}, warn() {}, info() {}, debug() {} } });
    const t0 = now();
    for (let i = 0; i < n; i++) queue.add('bench', bodyOfSize(i, bytes));
    const ms = now() - t0;
    queue.close();
    rmSync(dir, { recursive: true, force: true });
    return { n, ms };
  },

  /** BullMQ on the redis-server the orchestrator started (REDIS_PORT): add each awaited, then a Worker (concurrency 16). */
  async bullmq({ n, bytes }) {
    const port = Number(process.env.REDIS_PORT);
    if (!port) throw new Skip('no redis-server to run BullMQ on');
    const { Queue, Worker } = await import('bullmq');
    // ioredis retries forever when the server goes away: fail the run instead of hanging.
    setTimeout(() => {
      console.error('bullmq: no result after 60 s (is the redis-server still up?)');
      process.exit(1);
    }, 60_000).unref();
    const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
    const queue = new Queue('w4', { connection });
    await queue.obliterate({ force: true });
    const t0 = now();
    for (let i = 0; i < n; i++) await queue.add('bench', bodyOfSize(i, bytes), { removeOnComplete: true });
    const t1 = now();
    const done = latch();
    let count = 0;
    const worker = new Worker('w4', async () => {}, { connection, concurrency: 16 });
    worker.on('completed', () => {
      if (++count === n) done.resolve();
    });
    await done.promise;
    const t2 = now();
    await worker.close();
    await queue.close();
    return { n, ms: t1 - t0, endToEndMs: t2 - t0 };
  },

  /** Fills a directory with `n` pending messages (untimed), for the reopen case. */
  async 'reopen setup'({ n, dir }) {
    const { FileStorage } = await pocketmq('/file');
    const { Queue } = await pocketmq();
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const storage = new FileStorage({ dir, fsync: 'never' });
    const queue = new Queue('reopen', { storage });
    for (let i = 0; i < n; i += 1000) {
      await queue.sendBatch(Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({ body: { id: i + k } })));
    }
    await storage.close();
    return { n, ms: 0 };
  },

  /** Opens the directory `reopen setup` filled, and checks every message is there. */
  async 'pocketmq reopen'({ n, dir }) {
    const { FileStorage } = await pocketmq('/file');
    const { Queue } = await pocketmq();
    const t0 = now();
    const storage = new FileStorage({ dir, fsync: 'never' });
    await storage.open();
    const ms = now() - t0;
    const stats = await new Queue('reopen', { storage }).stats();
    if (stats.ready !== n) throw new Error(`reopen found ${stats.ready} ready messages, expected ${n}`);
    await storage.close();
    return { n, ms };
  },
};
