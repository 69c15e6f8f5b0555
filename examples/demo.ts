/**
 * `npm run demo`: a work queue on a FileStorage in a temp folder. Five workers
 * start on 10 jobs; halfway the process "stops" (the storage is closed), then the
 * folder is opened again and the rest of the work is still there and gets done.
 * One job keeps failing: it is retried with backoff, then dead-lettered.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, type QueueStats, type Storage } from '../src/index.js';
import { FileStorage } from '../src/file.js';

interface Job {
  id: number;
  task: string;
}

const started = Date.now();
const elapsed = () => `${String(Date.now() - started).padStart(5)} ms`;
const say = (line: string) => console.log(`${elapsed()}  ${line}`);
const show = (s: QueueStats) =>
  `ready ${s.ready} · delayed ${s.delayed} · in flight ${s.inflight} · sent ${s.sent} · delivered ${s.delivered} · acked ${s.acked} · retried ${s.retried} · dead-lettered ${s.deadLettered}`;

function jobsQueue(storage: Storage): Queue<Job> {
  const jobs = new Queue<Job>('jobs', {
    storage,
    maxAttempts: 3,
    backoff: { initial: 100, factor: 2, jitter: 'none' }, // short, so the demo is quick
  });
  jobs.on('retry', (msg, error, delay) =>
    say(`retry  job ${msg.body.id} (attempt ${msg.attempt} failed: ${(error as Error).message}); next try in ${delay} ms`),
  );
  jobs.on('dead', (msg, reason) => say(`dead   job ${msg.body.id} → jobs.dlq (${reason})`));
  return jobs;
}

/** Runs five workers; resolves once `stopAfter` jobs are done (or the queue is idle), with the workers stopped. */
async function work(jobs: Queue<Job>, stopAfter = Infinity): Promise<void> {
  let done = 0;
  let halfway!: () => void;
  const enough = new Promise<void>((resolve) => (halfway = resolve));
  const workers = jobs.consume(
    async (msg) => {
      if (msg.body.task.includes('corrupt')) throw new Error('cannot decode image');
      await new Promise((resolve) => setTimeout(resolve, 20)); // pretend to work
      say(`done   job ${msg.body.id} (attempt ${msg.attempt})`);
      if (++done >= stopAfter) halfway();
    },
    { concurrency: 5 },
  );
  await Promise.race([enough, jobs.idle()]);
  await workers.stop();
}

export async function runWorkQueue(dir: string): Promise<void> {
  say(`open   FileStorage in ${dir}`);
  let storage = new FileStorage({ dir });
  let jobs = jobsQueue(storage);
  for (let id = 1; id <= 10; id++) {
    await jobs.send({ id, task: id === 7 ? 'resize a corrupt image' : `resize image ${id}` });
  }
  say('sent   10 jobs to "jobs" (each on disk when send() resolved)');
  await work(jobs, 4);
  say(`stop   halfway: ${show(await jobs.stats())}`);
  await storage.close();

  storage = new FileStorage({ dir });
  jobs = jobsQueue(storage);
  const survived = await jobs.stats();
  say(`reopen the folder: ${survived.ready + survived.delayed} jobs still waiting, ${survived.acked} done before the stop`);
  await work(jobs);

  const deadLetters = new Queue<Job>('jobs.dlq', { storage });
  const [dead] = await deadLetters.receive();
  if (dead) {
    say(`dlq    job ${dead.body.id}: reason=${dead.headers['x-dead-reason']}, error="${dead.headers['x-dead-error']}", attempts=${dead.headers['x-attempts']}`);
    await dead.ack();
  }
  say(`stats  ${show(await jobs.stats())}`);
  await storage.close();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = mkdtempSync(join(tmpdir(), 'pocketmq-demo-'));
  try {
    await runWorkQueue(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
