/**
 * `npm run soak`: the kill -9 loop of test/file-crash.test.ts, 1,000 times by default.
 * Usage: tsx scripts/soak.ts [cycles] [always|interval|never]
 * Prints the figures (cycles, messages, lost, resurrected, duplicates) and exits 1 on any problem.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crashLoop } from '../test/fixtures/file-crash-loop.js';

const cycles = Number(process.argv[2] ?? 1_000);
const fsync = (process.argv[3] ?? 'always') as 'always' | 'interval' | 'never';
const dir = mkdtempSync(join(tmpdir(), 'pocketmq-soak-'));
const started = Date.now();
const figures = await crashLoop({
  dir,
  cycles,
  fsync,
  onCycle: (cycle, f) => {
    if ((cycle + 1) % 50 === 0) console.log(`${cycle + 1}/${cycles} cycles, ${f.messages} messages, ${f.duplicates} duplicates, ${f.lost + f.resurrected + f.attemptsDown + f.fifoViolations} problems`);
  },
});
rmSync(dir, { recursive: true, force: true });
const { problems, ...numbers } = figures;
console.log(`\nkill -9 soak, fsync '${fsync}', ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.table(numbers);
for (const problem of problems) console.log(`problem: ${problem}`);
process.exitCode = problems.length > 0 ? 1 : 0;
