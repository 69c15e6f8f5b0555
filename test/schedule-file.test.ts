import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileStorage } from '../src/file/file-storage.js';
import { recordProblem, UnencodableFieldError } from '../src/file/record-fields.js';
import { scheduleRecord } from '../src/file/records.js';
import { Queue } from '../src/queue.js';
import type { CatchUp } from '../src/schedule.js';
import type { StoredSchedule } from '../src/storage/storage.js';
import { TestClock } from '../src/test-clock.js';

const START = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

const dirs: string[] = [];
const open: FileStorage[] = [];

afterEach(async () => {
  for (const storage of open.splice(0)) await storage.close().catch(() => undefined);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pocketmq-schedule-'));
  dirs.push(dir);
  return dir;
}

function storageAt(dir: string, clock: TestClock): FileStorage {
  const storage = new FileStorage({ dir, clock });
  open.push(storage);
  return storage;
}

/** The tick times of the queue's scheduled messages, from their dedupeIds `${id}@${tick}`. */
async function ticks(storage: FileStorage, queue = 'reports'): Promise<number[]> {
  const messages = await storage.peek(queue, 100_000, storage.clock.now());
  return messages.filter((m) => m.dedupeId !== undefined).map((m) => Number(m.dedupeId!.split('@')[1]));
}

describe('FileStorage: schedules survive a restart', () => {
  /** Ticks at 1, 2 min; down from 2.5 to 12.5 min (ticks 3..12 missed); up again. */
  async function missedTicks(catchUp: CatchUp) {
    const clock = new TestClock(START);
    const dir = tempDir();
    const first = storageAt(dir, clock);
    const before = new Queue('reports', { storage: first });
    await before.schedule('poll', { every: MINUTE }, { kind: 'poll' }, { catchUp });
    await clock.advance(2.5 * MINUTE);
    await before.close();
    await first.close();
    await clock.advance(10 * MINUTE);
    const second = storageAt(dir, clock);
    const after = new Queue('reports', { storage: second });
    // The first operation opens the storage; its schedules then reach this process's timer.
    expect((await after.schedules()).map((s) => ({ next: s.next, count: s.count }))).toEqual([{ next: START + 3 * MINUTE, count: 2 }]);
    await clock.advance(0);
    const caughtUp = await ticks(second);
    await clock.advance(MINUTE);
    return { caughtUp, all: await ticks(second), schedule: (await after.schedules())[0]! };
  }

  const minutes = (...m: number[]) => m.map((n) => START + n * MINUTE);

  it("catchUp 'one' (the default): one send for all missed ticks, the latest, then on time again", async () => {
    const { caughtUp, all, schedule } = await missedTicks('one');
    expect(caughtUp).toEqual(minutes(1, 2, 12));
    expect(all).toEqual(minutes(1, 2, 12, 13));
    expect(schedule).toMatchObject({ next: START + 14 * MINUTE, last: START + 13 * MINUTE, count: 4 });
  });

  it("catchUp 'all': one send per missed tick, in order", async () => {
    const { caughtUp, all, schedule } = await missedTicks('all');
    expect(caughtUp).toEqual(minutes(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12));
    expect(all).toEqual(minutes(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13));
    expect(schedule).toMatchObject({ next: START + 14 * MINUTE, count: 13 });
  });

  it("catchUp 'none': missed ticks are skipped, the next one on time is sent", async () => {
    const { caughtUp, all, schedule } = await missedTicks('none');
    expect(caughtUp).toEqual(minutes(1, 2));
    expect(all).toEqual(minutes(1, 2, 13));
    expect(schedule).toMatchObject({ next: START + 14 * MINUTE, last: START + 13 * MINUTE, count: 3 });
  });

  it('a cron schedule, its body and options come back after a compaction and a restart; an unschedule() too', async () => {
    const clock = new TestClock(START);
    const dir = tempDir();
    const storage = storageAt(dir, clock);
    const queue = new Queue('reports', { storage, maxLength: 50 });
    await queue.schedule('nightly', { cron: '0 3 * * *', tz: 'Europe/Paris' }, { kind: 'daily', n: [1, 'ü'] }, { priority: 2, headers: { a: 'b' }, limit: 10 });
    await queue.schedule('gone', { every: MINUTE }, 'x');
    await queue.unschedule('gone');
    await clock.advance(86_400_000);
    await storage.compact();
    const listed = await queue.schedules();
    await queue.close();
    await storage.close();
    const again = storageAt(dir, clock);
    const reopened = new Queue('reports', { storage: again });
    expect(await reopened.schedules()).toEqual(listed);
    expect(listed).toEqual([
      {
        id: 'nightly',
        cron: '0 3 * * *',
        tz: 'Europe/Paris',
        next: Date.UTC(2026, 0, 2, 2),
        last: Date.UTC(2026, 0, 1, 2),
        count: 1,
        body: { kind: 'daily', n: [1, 'ü'] },
        options: { priority: 2, headers: { a: 'b' }, limit: 10 },
      },
    ]);
    await clock.advance(86_400_000);
    expect(await ticks(again)).toEqual([Date.UTC(2026, 0, 1, 2), Date.UTC(2026, 0, 2, 2)]);
  });
});

describe('FileStorage: SCHEDULE records', () => {
  const schedule: StoredSchedule = {
    id: 'poll',
    every: 1_000,
    cron: undefined,
    tz: undefined,
    next: START,
    last: undefined,
    count: 0,
    body: { a: 1 },
    options: {},
    policy: { maxLength: undefined, overflow: 'reject', deadLetter: 'reports.dlq', dedupeWindow: 0 },
  };

  it('what the writer writes, replay accepts', () => {
    expect(recordProblem(JSON.parse(scheduleRecord('"reports"', schedule, '{"a":1}')))).toBeUndefined();
    expect(recordProblem(JSON.parse(scheduleRecord('"reports"', { ...schedule, every: undefined, cron: '* * * * *', tz: 'UTC', last: START }, '')))).toBeUndefined();
  });

  it.each([
    ['next', { next: Number.NaN }],
    ['count', { count: -1 }],
    ['every', { every: 0 }],
    ['policy', { policy: { ...schedule.policy, overflow: 'spill' } }],
  ] as [string, Partial<StoredSchedule>][])('the writer refuses a bad `%s`', (field, change) => {
    expect(() => scheduleRecord('"reports"', { ...schedule, ...change } as StoredSchedule, '')).toThrow(UnencodableFieldError);
    expect(() => scheduleRecord('"reports"', { ...schedule, ...change } as StoredSchedule, '')).toThrow(`\`${field}\``);
  });

  it('replay refuses a schedule with both or neither of every and cron, and a bad policy', () => {
    const good = JSON.parse(scheduleRecord('"reports"', schedule, '')) as unknown[];
    const both = [...good];
    both[4] = '* * * * *';
    expect(recordProblem(both)).toContain('exactly one of `every` and `cron`');
    const neither = [...good];
    neither[3] = null;
    expect(recordProblem(neither)).toContain('exactly one of `every` and `cron`');
    const policy = [...good];
    policy[10] = { maxLength: null, overflow: 'reject', deadLetter: 'x' };
    expect(recordProblem(policy)).toContain('`policy`');
    expect(recordProblem([9, 'reports'])).toContain('type 9');
  });
});
