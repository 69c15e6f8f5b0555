import { describe, expect, it } from 'vitest';
import type { TimerHandle, TimerKind } from '../src/clock.js';
import { InvalidArgumentError, MemoryStorage, OutOfRangeError, Queue, UnsupportedError } from '../src/index.js';
import type { Storage } from '../src/storage/storage.js';
import { TestClock } from '../src/testing.js';

const START = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function setup(start = START) {
  const clock = new TestClock(start);
  const storage = new MemoryStorage({ clock });
  const queue = new Queue<{ kind: string }>('reports', { storage });
  return { clock, storage, queue };
}

/** What the queue holds, in delivery order: each message's dedupeId, schedule id and body. */
async function sent(storage: Storage, queue = 'reports') {
  return (await storage.peek(queue, 100_000, storage.clock.now())).map((m) => ({ dedupeId: m.dedupeId, schedule: m.headers?.['x-schedule'], body: m.body }));
}

/** The tick times of the queue's scheduled messages, from their dedupeIds `${id}@${tick}`. */
async function ticks(storage: Storage, queue = 'reports'): Promise<number[]> {
  const messages = await storage.peek(queue, 100_000, storage.clock.now());
  return messages.filter((m) => m.dedupeId !== undefined).map((m) => Number(m.dedupeId!.split('@')[1]));
}

describe('queue.schedule({ every })', () => {
  it('ticks one interval after schedule(), on the storage clock, each tick one message with x-schedule and a dedupeId', async () => {
    const { clock, storage, queue } = setup();
    const info = await queue.schedule('poll', { every: 1_000 }, { kind: 'poll' });
    expect(info).toMatchObject({ id: 'poll', every: 1_000, next: START + 1_000, last: undefined, count: 0, body: { kind: 'poll' } });
    await clock.advance(3_500);
    expect(await sent(storage)).toEqual([1_000, 2_000, 3_000].map((t) => ({ dedupeId: `poll@${START + t}`, schedule: 'poll', body: { kind: 'poll' } })));
    expect(await queue.schedules()).toEqual([{ id: 'poll', every: 1_000, next: START + 4_000, last: START + 3_000, count: 3, body: { kind: 'poll' }, options: {} }]);
  });

  it('uses one timer of kind "schedule" for all schedules, never one that keeps the process alive', async () => {
    const timers: { keepAlive: boolean; kind: TimerKind | undefined }[] = [];
    class RecordingClock extends TestClock {
      override setTimer(fn: () => void, ms: number, keepAlive = false, kind?: TimerKind): TimerHandle {
        timers.push({ keepAlive, kind });
        return super.setTimer(fn, ms, keepAlive, kind);
      }
    }
    const clock = new RecordingClock(START);
    const queue = new Queue('reports', { storage: new MemoryStorage({ clock }) });
    await queue.schedule('a', { every: 1_000 }, 'a');
    await queue.schedule('b', { every: 1_500 }, 'b');
    await queue.schedule('c', { cron: '0 * * * *' }, 'c');
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(10_000);
    expect(clock.pendingTimers).toBe(1);
    expect(timers.length).toBeGreaterThan(0);
    expect(timers.every((t) => t.kind === 'schedule' && !t.keepAlive)).toBe(true);
  });

  it('idle() does not wait for schedules', async () => {
    const { clock, queue } = setup();
    await queue.schedule('poll', { every: 1_000 }, { kind: 'poll' });
    await queue.idle();
    expect(clock.now()).toBe(START);
  });

  it('unschedule() stops the ticks and says whether the schedule existed; sent messages stay', async () => {
    const { clock, storage, queue } = setup();
    await queue.schedule('poll', { every: 1_000 }, { kind: 'poll' });
    await clock.advance(1_000);
    expect(await queue.unschedule('poll')).toBe(true);
    expect(await queue.unschedule('poll')).toBe(false);
    await clock.advance(5_000);
    expect(await ticks(storage)).toEqual([START + 1_000]);
    expect(await queue.schedules()).toEqual([]);
  });

  it('schedules belong to their queue', async () => {
    const { clock, storage, queue } = setup();
    const other = new Queue('other', { storage });
    await queue.schedule('poll', { every: 1_000 }, { kind: 'poll' });
    await other.schedule('poll', { every: 2_000 }, 'other');
    await clock.advance(2_000);
    expect((await queue.schedules()).map((s) => s.every)).toEqual([1_000]);
    expect((await other.schedules()).map((s) => s.every)).toEqual([2_000]);
    expect(await ticks(storage)).toEqual([START + 1_000, START + 2_000]);
    expect(await ticks(storage, 'other')).toEqual([START + 2_000]);
  });
});

describe('queue.schedule() options', () => {
  it('startAt: an every schedule ticks first at startAt, then every interval', async () => {
    const { clock, storage, queue } = setup();
    await queue.schedule('poll', { every: 1_000 }, { kind: 'poll' }, { startAt: START + 5_000 });
    await clock.advance(7_000);
    expect(await ticks(storage)).toEqual([START + 5_000, START + 6_000, START + 7_000]);
  });

  it('startAt in the past: ticks stay on its grid, from the first one after now', async () => {
    const { clock, storage, queue } = setup();
    await queue.schedule('poll', { every: 1_000 }, { kind: 'poll' }, { startAt: new Date(START - 2_500) });
    await clock.advance(2_000);
    expect(await ticks(storage)).toEqual([START + 500, START + 1_500]);
  });

  it('startAt: a cron schedule ticks first at its first match at or after startAt', async () => {
    const { clock, storage, queue } = setup();
    await queue.schedule('hourly', { cron: '0 * * * *' }, { kind: 'h' }, { startAt: START + 3 * HOUR });
    await clock.advance(5 * HOUR);
    expect(await ticks(storage)).toEqual([START + 3 * HOUR, START + 4 * HOUR, START + 5 * HOUR]);
  });

  it('endAt: no tick after it, and the schedule is removed after its last tick', async () => {
    const { clock, storage, queue } = setup();
    await queue.schedule('poll', { every: 1_000 }, { kind: 'poll' }, { endAt: START + 2_500 });
    await clock.advance(2_000);
    expect((await queue.schedules()).map((s) => s.id)).toEqual([]);
    await clock.advance(5_000);
    expect(await ticks(storage)).toEqual([START + 1_000, START + 2_000]);
  });

  it('limit: that many messages, then the schedule is removed', async () => {
    const { clock, storage, queue } = setup();
    await queue.schedule('poll', { every: 1_000 }, { kind: 'poll' }, { limit: 2 });
    await clock.advance(1_000);
    expect((await queue.schedules())[0]).toMatchObject({ count: 1, options: { limit: 2 } });
    await clock.advance(5_000);
    expect(await ticks(storage)).toEqual([START + 1_000, START + 2_000]);
    expect(await queue.schedules()).toEqual([]);
  });

  it('send options: priority, ttl, delay, group, subject, correlationId and headers reach every tick', async () => {
    const { clock, storage, queue } = setup();
    await queue.schedule('poll', { every: 1_000 }, { kind: 'poll' }, {
      priority: 7,
      ttl: 60_000,
      delay: 500,
      group: 'g',
      subject: 'report.poll',
      correlationId: 'c-1',
      headers: { type: 'poll' },
    });
    await clock.advance(1_500);
    const [m] = await storage.peek('reports', 10, clock.now());
    expect(m).toMatchObject({
      priority: 7,
      enqueuedAt: START + 1_000,
      availableAt: START + 1_500,
      expiresAt: START + 61_000,
      group: 'g',
      subject: 'report.poll',
      correlationId: 'c-1',
      headers: { type: 'poll', 'x-schedule': 'poll' },
      dedupeId: `poll@${START + 1_000}`,
    });
    expect((await queue.schedules())[0]!.options).toEqual({ priority: 7, ttl: 60_000, delay: 500, group: 'g', subject: 'report.poll', correlationId: 'c-1', headers: { type: 'poll' } });
  });

  it("the ticks' sends are bounded by the scheduling handle's maxLength, and a refused tick is an 'error' event", async () => {
    const clock = new TestClock(START);
    const queue = new Queue('reports', { storage: new MemoryStorage({ clock }), maxLength: 1 });
    const errors: Error[] = [];
    queue.on('error', (error) => errors.push(error));
    await queue.schedule('poll', { every: 1_000 }, 'x');
    await clock.advance(2_000);
    expect((await queue.stats()).ready).toBe(1);
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['ERR_QUEUE_FULL']);
    expect((await queue.schedules())[0]).toMatchObject({ next: START + 3_000 });
  });
});

describe('queue.schedule({ cron, tz })', () => {
  it('runs a month of hourly ticks on a TestClock, each exactly once', async () => {
    const { clock, storage, queue } = setup();
    await queue.schedule('hourly', { cron: '0 * * * *', tz: 'UTC' }, { kind: 'h' });
    await clock.runAll({ until: Date.UTC(2026, 1, 1) });
    const times = await ticks(storage);
    expect(times).toHaveLength(31 * 24);
    expect(times[0]).toBe(START + HOUR);
    expect(times.at(-1)).toBe(Date.UTC(2026, 1, 1));
    expect(new Set(times).size).toBe(times.length);
    expect(times.every((t, i) => i === 0 || t - times[i - 1]! === HOUR)).toBe(true);
  });

  it('reads 6 fields (seconds first), named months and days, L and #', async () => {
    const { clock, storage, queue } = setup();
    await queue.schedule('seconds', { cron: '*/20 * * * * *' }, { kind: 's' });
    await clock.advance(60_000);
    expect(await ticks(storage)).toEqual([20_000, 40_000, 60_000].map((t) => START + t));
    await queue.unschedule('seconds');
    const named = new Queue('named', { storage });
    // The last Friday of each month at 09:00, and the second Monday of March.
    await named.schedule('last-friday', { cron: '0 9 * * FRI#L' }, 'f');
    await named.schedule('second-monday', { cron: '0 9 * MAR MON#2' }, 'm');
    await clock.runAll({ until: Date.UTC(2026, 3, 1) });
    expect((await ticks(storage, 'named')).map((t) => new Date(t).toISOString())).toEqual([
      '2026-01-30T09:00:00.000Z',
      '2026-02-27T09:00:00.000Z',
      '2026-03-09T09:00:00.000Z',
      '2026-03-27T09:00:00.000Z',
    ]);
  });

  it('a daily 02:30 in Europe/Paris runs once on the spring-forward day', async () => {
    const { clock, storage, queue } = setup(Date.UTC(2026, 2, 27));
    await queue.schedule('night', { cron: '30 2 * * *', tz: 'Europe/Paris' }, { kind: 'n' });
    await clock.runAll({ until: Date.UTC(2026, 2, 31) });
    const times = await ticks(storage);
    const onSpringDay = times.filter((t) => t >= Date.UTC(2026, 2, 28, 23) && t < Date.UTC(2026, 2, 29, 22));
    expect(onSpringDay).toHaveLength(1);
    // 27th and 28th at 02:30 CET (01:30Z); the 29th once, at or after the jump to 03:00 CEST (01:00Z); 30th at 02:30 CEST (00:30Z).
    expect(times[0]).toBe(Date.UTC(2026, 2, 27, 1, 30));
    expect(times[1]).toBe(Date.UTC(2026, 2, 28, 1, 30));
    expect(onSpringDay[0]).toBeGreaterThanOrEqual(Date.UTC(2026, 2, 29, 1, 0));
    expect(onSpringDay[0]).toBeLessThan(Date.UTC(2026, 2, 29, 2, 0));
    expect(times[3]).toBe(Date.UTC(2026, 2, 30, 0, 30));
    expect(times).toHaveLength(4);
  });

  it('a daily 02:30 in Europe/Paris never runs twice on the autumn day whose 02:30 comes twice', async () => {
    const { clock, storage, queue } = setup(Date.UTC(2026, 9, 23));
    await queue.schedule('night', { cron: '30 2 * * *', tz: 'Europe/Paris' }, { kind: 'n' });
    await clock.runAll({ until: Date.UTC(2026, 9, 28) });
    const times = await ticks(storage);
    const onAutumnDay = times.filter((t) => t >= Date.UTC(2026, 9, 24, 22) && t < Date.UTC(2026, 9, 25, 23));
    expect(onAutumnDay).toHaveLength(1);
    expect(times).toHaveLength(5);
    expect(times.at(-1)).toBe(Date.UTC(2026, 9, 27, 1, 30));
  });

  it('a UTC schedule when tz is left out', async () => {
    const { clock, storage, queue } = setup();
    const info = await queue.schedule('nightly', { cron: '0 3 * * *' }, { kind: 'n' });
    expect(info).toMatchObject({ cron: '0 3 * * *', tz: 'UTC', next: START + 3 * HOUR });
    await clock.advance(DAY);
    expect(await ticks(storage)).toEqual([START + 3 * HOUR]);
  });
});

describe('TestClock.runAll() and schedules', () => {
  it('stops before the next schedule tick, having run the work due before it', async () => {
    const { clock, storage, queue } = setup();
    await queue.schedule('poll', { every: 1_000 }, { kind: 'poll' });
    await queue.send({ kind: 'one-off' }, { delay: 500 });
    const report = await clock.runAll();
    expect(clock.now()).toBe(START + 500);
    expect(report.fired).toBeGreaterThan(0);
    expect(await ticks(storage)).toEqual([]);
    await clock.runAll({ until: START + 3_000 });
    expect(await ticks(storage)).toEqual([START + 1_000, START + 2_000, START + 3_000]);
  });
});

describe('schedule() replaces a schedule with the same id', () => {
  it('keeps next, last and count when every/cron, tz and startAt are unchanged; body and options are the new ones', async () => {
    const { clock, storage, queue } = setup();
    await queue.schedule('poll', { every: 1_000 }, { kind: 'old' });
    await clock.advance(1_500);
    const info = await queue.schedule('poll', { every: 1_000 }, { kind: 'new' }, { priority: 3 });
    expect(info).toMatchObject({ next: START + 2_000, last: START + 1_000, count: 1, body: { kind: 'new' }, options: { priority: 3 } });
    await clock.advance(500);
    // The new tick has the new priority 3: it is delivered first.
    expect((await sent(storage)).map((m) => [m.dedupeId, m.body])).toEqual([
      [`poll@${START + 2_000}`, { kind: 'new' }],
      [`poll@${START + 1_000}`, { kind: 'old' }],
    ]);
  });

  it('computes the next tick afresh when the interval or expression changes', async () => {
    const { clock, queue } = setup();
    await queue.schedule('poll', { every: 1_000 }, { kind: 'poll' });
    await clock.advance(1_500);
    const info = await queue.schedule('poll', { every: 10_000 }, { kind: 'poll' });
    expect(info).toMatchObject({ every: 10_000, next: START + 11_500, last: undefined, count: 0 });
    const cron = await queue.schedule('poll', { cron: '0 * * * *' }, { kind: 'poll' });
    expect(cron).toMatchObject({ cron: '0 * * * *', next: START + HOUR, count: 0 });
    expect(await queue.schedules()).toHaveLength(1);
  });
});

describe('schedule() refuses bad input and stores nothing', () => {
  const cases: [string, (q: Queue<{ kind: string }>) => Promise<unknown>, new (...args: never[]) => Error, string][] = [
    ['an invalid cron expression', (q) => q.schedule('bad', { cron: 'every day at noon' }, { kind: 'x' }), InvalidArgumentError, 'spec.cron'],
    ['a cron expression with a value out of range', (q) => q.schedule('bad', { cron: '61 * * * *' }, { kind: 'x' }), InvalidArgumentError, 'spec.cron'],
    ['an unknown time zone', (q) => q.schedule('bad', { cron: '0 3 * * *', tz: 'Mars/Olympus_Mons' }, { kind: 'x' }), OutOfRangeError, 'spec.tz'],
    ['every below 1 ms', (q) => q.schedule('bad', { every: 0.5 }, { kind: 'x' }), OutOfRangeError, 'spec.every'],
    ['every that is not a number', (q) => q.schedule('bad', { every: '5m' as unknown as number }, { kind: 'x' }), InvalidArgumentError, 'spec.every'],
    ['both every and cron', (q) => q.schedule('bad', { every: 1_000, cron: '* * * * *' } as never, { kind: 'x' }), InvalidArgumentError, 'spec'],
    ['a tz with every', (q) => q.schedule('bad', { every: 1_000, tz: 'UTC' } as never, { kind: 'x' }), InvalidArgumentError, 'spec.tz'],
    ['an id that is not a valid name', (q) => q.schedule('no spaces', { every: 1_000 }, { kind: 'x' }), InvalidArgumentError, 'id'],
    ['a reserved id', (q) => q.schedule('a::b', { every: 1_000 }, { kind: 'x' }), InvalidArgumentError, 'id'],
    ['an unknown option', (q) => q.schedule('bad', { every: 1_000 }, { kind: 'x' }, { repeat: 3 } as never), InvalidArgumentError, 'options.repeat'],
    ['a dedupeId option (the schedule sets it)', (q) => q.schedule('bad', { every: 1_000 }, { kind: 'x' }, { dedupeId: 'x' } as never), InvalidArgumentError, 'options.dedupeId'],
    ['a bad catchUp', (q) => q.schedule('bad', { every: 1_000 }, { kind: 'x' }, { catchUp: 'some' as never }), InvalidArgumentError, 'options.catchUp'],
    ['a limit of 0', (q) => q.schedule('bad', { every: 1_000 }, { kind: 'x' }, { limit: 0 }), OutOfRangeError, 'options.limit'],
    ['endAt before startAt', (q) => q.schedule('bad', { every: 1_000 }, { kind: 'x' }, { startAt: START + 10, endAt: START + 5 }), OutOfRangeError, 'options.endAt'],
    ['endAt before the first tick', (q) => q.schedule('bad', { every: 1_000 }, { kind: 'x' }, { endAt: START + 500 }), OutOfRangeError, 'options.endAt'],
    ['an invalid Date', (q) => q.schedule('bad', { every: 1_000 }, { kind: 'x' }, { startAt: new Date(Number.NaN) }), OutOfRangeError, 'options.startAt'],
    ['a bad send option', (q) => q.schedule('bad', { every: 1_000 }, { kind: 'x' }, { priority: 1.5 }), InvalidArgumentError, 'options.priority'],
    ['a body JSON cannot keep', (q) => q.schedule('bad', { every: 1_000 }, { kind: new Date() as unknown as string }), InvalidArgumentError, 'body'],
  ];

  it.each(cases)('%s', async (_, call, kind, argument) => {
    const { queue } = setup();
    const error = await call(queue).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(kind);
    expect(error).toMatchObject({ argument: expect.stringContaining(argument) });
    expect((error as Error).message).toContain(`\`${argument}`);
    expect(await queue.schedules()).toEqual([]);
  });

  it('rejects a bad input to unschedule()', async () => {
    const { queue } = setup();
    await expect(queue.unschedule('no spaces')).rejects.toMatchObject({ argument: 'id' });
  });

  it('a storage without schedules rejects with UnsupportedError', async () => {
    const storage = new MemoryStorage({ clock: new TestClock(START) });
    const bare = new Proxy(storage, {
      get(target, property) {
        if (property === 'putSchedule' || property === 'listSchedules') return undefined;
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const queue = new Queue('reports', { storage: bare });
    await expect(queue.schedule('poll', { every: 1_000 }, 'x')).rejects.toBeInstanceOf(UnsupportedError);
    await expect(queue.schedules()).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED', operation: 'schedules' });
    await queue.send('still works');
    expect((await queue.stats()).ready).toBe(1);
  });
});
