// Runs one subject of one case in this (fresh) process and prints its result as the last line:
//   node bench/child.mjs <case> <subject> '<params json>'
import { Skip } from './lib.mjs';

const [caseName, subject, params] = process.argv.slice(2);
const { subjects } = await import(`./cases/${caseName}.mjs`);
const run = subjects[subject];
if (!run) throw new Error(`No subject "${subject}" in case "${caseName}"`);
let line;
try {
  line = { ok: await run(JSON.parse(params ?? '{}')) };
} catch (error) {
  if (!(error instanceof Skip)) throw error;
  line = { skip: error.message };
}
process.stdout.write(`\n@result ${JSON.stringify(line)}\n`);
// Peers may leave sockets or timers behind; the result is out, so leave.
process.exit(0);
