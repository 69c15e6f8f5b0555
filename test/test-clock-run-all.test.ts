import { describe, expect, it } from 'vitest';
import { MemoryStorage, OutOfRangeError, Queue, RunLimitError } from '../src/index.js';
import { TestClock } from '../src/testing.js';

describe('TestClock.runAll()', () => {
  it('fires every pending timer in time order, each at its own time, until none is left', async () => {
    const clock = new TestClock();
    const fired: [string, number][] = [];
    clock.setTimer(() => fired.push(['c', clock.now()]), 3_000_000);
    clock.setTimer(() => {
      fired.push(['a', clock.now()]);
      clock.setTimer(() => fired.push(['b', clock.now()]), 100);
    }, 100);
    const report = await clock.runAll();
    expect(fired).toEqual([
      ['a', 100],
      ['b', 200],
      ['c', 3_000_000],
    ]);
    expect(report).toEqual({ fired: 3, stalled: [] });
    expect(clock.now()).toBe(3_000_000);
    expect(clock.pendingTimers).toBe(0);
  });

  it('drives a failing handler through every backoff to the dead-letter queue', async () => {
    const clock = new TestClock();
    const storage = new MemoryStorage({ clock });
    const queue = new Queue<string>('emails', {
      storage,
      maxAttempts: 5,
      backoff: { type: 'exponential', initial: 60_000, factor: 4, max: 86_400_000, jitter: 'none' },
    });
    const attempts: number[] = [];
    queue.consume(async () => {
      attempts.push(clock.now());
      throw new Error('smtp down');
    });
    await queue.send('welcome');
    await clock.runAll();
    // Retries after 1 min, 4 min, 16 min, 64 min.
    expect(attempts).toEqual([0, 60_000, 300_000, 1_260_000, 5_100_000]);
    expect(await queue.stats()).toMatchObject({ ready: 0, delayed: 0, inflight: 0, retried: 4, deadLettered: 1 });
    expect((await new Queue('emails.dlq', { storage }).peek()).map((m) => m.body)).toEqual(['welcome']);
  });

  it('{ until } - fires only what falls due by then and leaves the clock there', async () => {
    const clock = new TestClock();
    const queue = new Queue<string>('later', { storage: new MemoryStorage({ clock }) });
    const seen: string[] = [];
    queue.consume(async (msg) => void seen.push(msg.body));
    await queue.send('soon', { delay: 1_000 });
    await queue.send('tomorrow', { delay: 86_400_000 });
    await clock.runAll({ until: 60_000 });
    expect(seen).toEqual(['soon']);
    expect(clock.now()).toBe(60_000);
    await clock.runAll();
    expect(seen).toEqual(['soon', 'tomorrow']);
  });

  it('{ limit } - throws RunLimitError for a timer loop that never ends, where the last timer left time', async () => {
    const clock = new TestClock();
    const poll = () => clock.setTimer(poll, 1_000);
    poll();
    const error = await clock.runAll({ limit: 5 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunLimitError);
    expect(error).toMatchObject({ code: 'ERR_RUN_LIMIT', limit: 5, at: 5_000 });
    expect((error as Error).message).toMatch(/\{ until \}/);
    expect(clock.now()).toBe(5_000);
  });

  it('{ limit } - a run that needs exactly `limit` timers completes', async () => {
    const clock = new TestClock();
    for (let i = 1; i <= 3; i++) clock.setTimer(() => {}, i);
    expect((await clock.runAll({ limit: 3 })).fired).toBe(3);
  });

  it('returns when every handler still running is stalled, instead of renewing their leases forever', async () => {
    const clock = new TestClock(0, { quietMs: 10, warnStalled: false });
    const queue = new Queue<string>('gated', { storage: new MemoryStorage({ clock }), visibilityTimeout: 30_000 });
    let open!: () => void;
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    queue.consume(() => opened);
    await queue.send('x');
    const report = await clock.runAll();
    expect(report.stalled).toHaveLength(1);
    expect(clock.now()).toBe(0);
    open();
    await clock.settle();
    expect(await queue.stats()).toMatchObject({ acked: 1, inflight: 0 });
  });

  it('rejects bad options by name, moving nothing', async () => {
    const clock = new TestClock(1_000);
    clock.setTimer(() => {}, 10);
    await expect(clock.runAll({ until: 999 })).rejects.toThrow(OutOfRangeError);
    await expect(clock.runAll({ until: 999 })).rejects.toThrow(/`options.until`/);
    await expect(clock.runAll({ limit: 0 })).rejects.toThrow(/`options.limit`/);
    await expect(clock.runAll({ limit: 1.5 })).rejects.toThrow(/`options.limit`/);
    await expect(clock.runAll({ untill: 5 } as never)).rejects.toThrow(/untill/);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.now()).toBe(1_000);
  });
});
