import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, MemoryStorage, OutOfRangeError, Queue, systemClock } from '../src/index.js';
import { TestClock } from '../src/testing.js';

describe('Clock.sleep()', () => {
  it('TestClock.sleep() - resolves when the clock has moved ms forward, not before', async () => {
    const clock = new TestClock(1_000);
    let woke: number | undefined;
    void clock.sleep(500).then(() => {
      woke = clock.now();
    });
    await clock.advance(499);
    expect(woke).toBeUndefined();
    await clock.advance(1);
    expect(woke).toBe(1_500);
  });

  it('TestClock.sleep() - rejects with the reason of a signal that aborts, and leaves no timer', async () => {
    const clock = new TestClock();
    const controller = new AbortController();
    const slept = clock.sleep(1_000, controller.signal);
    controller.abort(new Error('cancelled'));
    await expect(slept).rejects.toThrow('cancelled');
    expect(clock.pendingTimers).toBe(0);
  });

  it('TestClock.sleep() - rejects at once when the signal has already aborted', async () => {
    const clock = new TestClock();
    await expect(clock.sleep(10, AbortSignal.abort('stop'))).rejects.toBe('stop');
    expect(clock.pendingTimers).toBe(0);
  });

  it('sleep() - rejects (never throws) a bad ms or signal, naming it', async () => {
    for (const clock of [new TestClock(), systemClock]) {
      await expect(clock.sleep(-1)).rejects.toThrow(OutOfRangeError);
      await expect(clock.sleep(-1)).rejects.toThrow(/`ms`/);
      await expect(clock.sleep('5' as never)).rejects.toThrow(InvalidArgumentError);
      await expect(clock.sleep(5, {} as never)).rejects.toThrow(/`signal` to be an AbortSignal/);
    }
  });

  it('systemClock.sleep() - waits in real time and can be aborted', async () => {
    const started = Date.now();
    await systemClock.sleep(5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4);
    const controller = new AbortController();
    const slept = systemClock.sleep(60_000, controller.signal);
    controller.abort(new Error('enough'));
    await expect(slept).rejects.toThrow('enough');
  });

  it('storage.clock.sleep() - a handler that sleeps runs in simulated time, and advance() moves on to wake it', async () => {
    const clock = new TestClock();
    const storage = new MemoryStorage({ clock });
    const polls = new Queue<string>('polls', { storage, visibilityTimeout: 30_000 });
    const seen: number[] = [];
    polls.consume(async () => {
      for (let i = 0; i < 3; i++) {
        await storage.clock.sleep(60_000);
        seen.push(clock.now());
      }
    });
    await polls.send('x');
    const report = await clock.advance(60_000 * 3);
    expect(seen).toEqual([60_000, 120_000, 180_000]);
    expect(report.stalled).toEqual([]);
    expect(await polls.stats()).toMatchObject({ acked: 1, inflight: 0, retried: 0 });
  });

  it('storage.clock.sleep() - a handler sleeping past the end of advance() is not reported as stalled', async () => {
    const clock = new TestClock(0, { quietMs: 10_000 });
    const storage = new MemoryStorage({ clock });
    const queue = new Queue<string>('slow', { storage });
    let done = false;
    queue.consume(async () => {
      await storage.clock.sleep(10_000);
      done = true;
    });
    await queue.send('x');
    // Judged as stalled, it would be listed (after quietMs of real time).
    expect((await clock.advance(5_000)).stalled).toEqual([]);
    expect(done).toBe(false);
    await clock.advance(5_000);
    expect(done).toBe(true);
  });
});
