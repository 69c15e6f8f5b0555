/**
 * A work queue with five workers: each task is done by exactly one of them,
 * and a task whose worker fails is retried (here, on the first try of task 7)
 * rather than lost.
 *
 * Run it: npx tsx examples/work-queue.ts
 */
import { MemoryStorage, Queue } from '../src/index.js';
import { type ExampleOptions, isMain } from './run-main.js';

interface Task {
  id: number;
  input: number;
}

export interface WorkQueueResult {
  /** Task id → the worker that completed it. */
  completedBy: Record<number, string>;
  /** Task ids completed, by worker. */
  perWorker: Record<string, number[]>;
  /** Failed attempts that were retried. */
  retried: number;
  /** The results, by task id. */
  results: Record<number, number>;
}

const WORKERS = 5;
const TASKS = 20;

export async function main({ storage = new MemoryStorage(), log = () => {} }: ExampleOptions = {}): Promise<WorkQueueResult> {
  const result: WorkQueueResult = { completedBy: {}, perWorker: {}, retried: 0, results: {} };
  const work = new Queue<Task>('work-queue', { storage, maxAttempts: 3, backoff: { initial: 50, jitter: 'none' } });
  work.on('retry', (msg, error) => {
    result.retried++;
    log(`task ${msg.body.id} failed (${(error as Error).message}); it will be retried`);
  });

  let flaky = true;
  const workers = Array.from({ length: WORKERS }, (_, i) => {
    const workerId = `worker-${i}`;
    result.perWorker[workerId] = [];
    return work.consume(async ({ body }) => {
      if (body.id === 7 && flaky) {
        flaky = false;
        throw new Error(`${workerId} lost its connection`);
      }
      // The "work": a square, standing in for real processing.
      result.results[body.id] = body.input * body.input;
      result.completedBy[body.id] = workerId;
      result.perWorker[workerId]!.push(body.id);
      log(`${workerId} completed task ${body.id}`);
    });
  });

  await work.sendBatch(Array.from({ length: TASKS }, (_, id) => ({ body: { id, input: id + 1 } })));
  await work.idle();
  await Promise.all(workers.map((w) => w.stop()));
  return result;
}

if (isMain(import.meta.url)) {
  const { perWorker, retried } = await main({ log: console.log });
  for (const [workerId, ids] of Object.entries(perWorker)) console.log(`${workerId}: ${ids.length} tasks`);
  console.log(`${retried} retried`);
}
