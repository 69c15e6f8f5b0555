/**
 * Recurring sends: a heartbeat every second (three of them, then the schedule ends
 * itself) and a nightly report at 03:00 Paris time. The schedules live in the
 * storage, so with a FileStorage or RedisStorage they outlive the process, and each
 * tick is sent once however many processes hold the queue open.
 *
 * Run it: npx tsx examples/scheduling.ts
 */
import { MemoryStorage, Queue } from '../src/index.js';
import { type ExampleOptions, isMain } from './run-main.js';

interface Report {
  kind: 'heartbeat' | 'nightly-report';
}

export interface SchedulingResult {
  /** Each handled message: the schedule that sent it and when it was handled. */
  handled: { schedule: string | undefined; kind: string; at: number }[];
  /** The schedules as listed right after they were made: id and next tick. */
  listed: { id: string; next: number }[];
  /** The schedules left at the end. */
  left: string[];
}

const HEARTBEATS = 3;

export async function main({ storage = new MemoryStorage(), log = () => {} }: ExampleOptions = {}): Promise<SchedulingResult> {
  const result: SchedulingResult = { handled: [], listed: [], left: [] };
  const reports = new Queue<Report>('reports', { storage });
  let heartbeats = 0;
  let allDone!: () => void;
  const done = new Promise<void>((resolve) => (allDone = resolve));
  const consumer = reports.consume(async (msg) => {
    const schedule = msg.headers['x-schedule'];
    result.handled.push({ schedule, kind: msg.body.kind, at: storage.clock.now() });
    log(`${new Date(storage.clock.now()).toISOString()} ${msg.body.kind} (schedule ${schedule})`);
    if (msg.body.kind === 'heartbeat' && ++heartbeats === HEARTBEATS) allDone();
  });

  // schedule() with an id that exists replaces it: calling it at every start is safe.
  await reports.schedule('heartbeat', { every: 1_000 }, { kind: 'heartbeat' }, { limit: HEARTBEATS });
  await reports.schedule('nightly', { cron: '0 3 * * *', tz: 'Europe/Paris' }, { kind: 'nightly-report' }, { priority: 5 });
  result.listed = (await reports.schedules()).map(({ id, next }) => ({ id, next }));
  for (const { id, next } of result.listed) log(`schedule ${id}: next tick at ${new Date(next).toISOString()}`);

  await done;
  // The heartbeat schedule removed itself after its limit; the nightly one stays until unscheduled.
  await reports.unschedule('nightly');
  result.left = (await reports.schedules()).map((s) => s.id);
  await consumer.stop();
  await reports.close();
  return result;
}

if (isMain(import.meta.url)) {
  const { handled } = await main({ log: console.log });
  console.log(`${handled.length} scheduled messages handled`);
}
