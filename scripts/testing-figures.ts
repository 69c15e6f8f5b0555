/**
 * The figure behind docs/benchmarks.md "Testing toolkit": the wall time of a user's test of a
 * week of retries (the recipe in examples/testing/retries-to-dead-letter.test.ts) on a
 * TestClock, from a new storage to the assertion on the dead letter.
 *
 *   npx tsx scripts/testing-figures.ts [runs]
 */
import { performance } from 'node:perf_hooks';
import { MemoryStorage } from '../src/index.js';
import { TestClock, inspect } from '../src/testing.js';
import { SignupService } from '../examples/testing/signup-service.js';

const DAY = 86_400_000;

/** Runs the test; returns the simulated time it covered, in ms. */
async function weekOfRetries(): Promise<number> {
  const clock = new TestClock(Date.UTC(2026, 0, 1));
  const storage = new MemoryStorage({ clock });
  let attempts = 0;
  const service = new SignupService({
    storage,
    mailer: async () => {
      attempts++;
      throw new Error('mail server unreachable');
    },
  });
  service.start();
  await service.emails.send({ signupId: 's-1', to: 'ada@example.com' });
  await clock.runAll();
  const { emails } = await inspect(storage);
  if (attempts !== 13 || emails?.dead.length !== 1 || clock.now() - Date.UTC(2026, 0, 1) < 6 * DAY) {
    throw new Error(`unexpected outcome: ${attempts} attempts, ${emails?.dead.length} dead letters`);
  }
  await service.stop();
  return clock.now() - Date.UTC(2026, 0, 1);
}

const runs = Number(process.argv[2] ?? 200);
let span = 0;
for (let i = 0; i < 20; i++) span = await weekOfRetries(); // warm-up: JIT, module loading
const times: number[] = [];
for (let i = 0; i < runs; i++) {
  const start = performance.now();
  await weekOfRetries();
  times.push(performance.now() - start);
}
times.sort((a, b) => a - b);
const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(2);
console.log(`a week of retries (13 attempts over ${(span / DAY).toFixed(2)} simulated days) on a TestClock, ${runs} runs:`);
console.log(`  median ${at(0.5)} ms · p90 ${at(0.9)} ms · max ${at(1)} ms (node ${process.version}, ${process.platform})`);
