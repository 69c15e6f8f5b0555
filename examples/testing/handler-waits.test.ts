/**
 * Recipe: handlers that wait. A handler that sleeps on the storage's clock runs in
 * simulated time; one that waits for something the test does later is reported by
 * advance()/runAll() instead of hanging them, and settle() waits for it once the test
 * has done its part.
 */
import { expect, it } from 'vitest';
import { MemoryStorage, Queue } from '../../src/index.js';
import { TestClock } from '../../src/testing.js';

it('a handler that polls every minute runs an hour of polls at once', async () => {
  const clock = new TestClock();
  const storage = new MemoryStorage({ clock });
  const exports = new Queue<string>('exports', { storage });
  const polls: number[] = [];
  exports.consume(async () => {
    // Wait until the export is ready, polling each minute: storage.clock, not setTimeout.
    for (let minute = 1; minute <= 60; minute++) {
      await storage.clock.sleep(60_000);
      polls.push(clock.now());
    }
  });
  await exports.send('report.csv');

  await clock.runAll();

  expect(polls).toHaveLength(60);
  expect(polls.at(-1)).toBe(3_600_000);
  expect(await exports.stats()).toMatchObject({ acked: 1, retried: 0 });
});

it('a handler waiting for the test is reported, and settle() waits for it once released', async () => {
  const clock = new TestClock(0, { warnStalled: false });
  const storage = new MemoryStorage({ clock });
  const approvals = new Queue<string>('approvals', { storage });
  let approve!: () => void;
  const approved = new Promise<void>((resolve) => {
    approve = resolve;
  });
  const done: string[] = [];
  approvals.consume(async (msg) => {
    await approved; // something the test does later
    done.push(msg.body);
  });
  await approvals.send('invoice-7');

  const { stalled } = await clock.advance(1_000);
  expect(stalled).toEqual([expect.objectContaining({ queue: 'approvals' })]);
  expect(done).toEqual([]);

  approve();
  await clock.settle();
  expect(done).toEqual(['invoice-7']);
});
