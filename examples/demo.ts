/**
 * `npm run demo`: a work queue with 5 workers, one job that keeps failing and is
 * retried with backoff then dead-lettered, and the stats at the end.
 */
import { MemoryStorage, Queue, type Storage } from '../src/index.js';

interface Job {
  id: number;
  task: string;
}

const started = Date.now();
const elapsed = () => `${String(Date.now() - started).padStart(5)} ms`;
const say = (line: string) => console.log(`${elapsed()}  ${line}`);

export async function runWorkQueue(storage: Storage): Promise<void> {
  const jobs = new Queue<Job>('jobs', {
    storage,
    maxAttempts: 3,
    backoff: { initial: 100, factor: 2, jitter: 'none' }, // short, so the demo is quick
  });
  const deadLetters = new Queue<Job>('jobs.dlq', { storage });

  jobs.on('retry', (msg, error, delay) =>
    say(`retry  job ${msg.body.id} (attempt ${msg.attempt} failed: ${(error as Error).message}); next try in ${delay} ms`),
  );
  jobs.on('dead', (msg, reason) => say(`dead   job ${msg.body.id} → jobs.dlq (${reason})`));

  for (let id = 1; id <= 10; id++) {
    await jobs.send({ id, task: id === 7 ? 'resize a corrupt image' : `resize image ${id}` });
  }
  say('sent   10 jobs to "jobs"');

  const workers = jobs.consume(
    async (msg) => {
      if (msg.body.task.includes('corrupt')) throw new Error('cannot decode image');
      await new Promise((resolve) => setTimeout(resolve, 20)); // pretend to work
      say(`done   job ${msg.body.id} (attempt ${msg.attempt})`);
    },
    { concurrency: 5 },
  );

  await jobs.idle();
  await workers.stop();

  const [dead] = await deadLetters.receive();
  if (dead) {
    say(`dlq    job ${dead.body.id}: reason=${dead.headers['x-dead-reason']}, error="${dead.headers['x-dead-error']}", attempts=${dead.headers['x-attempts']}`);
    await dead.ack();
  }
  const stats = await jobs.stats();
  say(`stats  ${JSON.stringify(stats)}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const storage = new MemoryStorage();
  await runWorkQueue(storage);
  await storage.close();
}
