// Where a bench row's time goes: runs the row's subject once in a fresh process under
// `node --cpu-prof`, then prints the top self-time functions (mapped to src/ through dist's
// source maps), the garbage collector's share and the CPU time per message.
//
//   node bench/profile.mjs <table id> [row label prefix, default "pocketmq"] [--top 25] [--quick]
//
// The profile stays in /tmp/prof-<table id> for Chrome DevTools or speedscope.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tables } from './index.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDir);
const args = process.argv.slice(2);
const topIndex = args.indexOf('--top');
const top = topIndex === -1 ? 25 : Number(args[topIndex + 1]);
const [id, label = 'pocketmq'] = args.filter((a, i) => !a.startsWith('--') && (topIndex === -1 || i !== topIndex + 1));
const table = tables().find((t) => t.id.toUpperCase() === id?.toUpperCase());
const selected = table?.rows.find((r) => r.label.startsWith(label));
if (!table || !selected) {
  console.error(`usage: node bench/profile.mjs <table id> [row label prefix] [--top N] [--quick]\ntables: ${tables().map((t) => t.id).join(', ')}`);
  if (table) console.error(`rows of ${table.id}: ${table.rows.map((r) => r.label).join(' | ')}`);
  process.exit(2);
}

const dir = `/tmp/prof-${table.id}`;
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const workDir = join(dir, 'work');
const run = (subject, params, profiled) =>
  spawnSync(
    process.execPath,
    [...(profiled ? ['--cpu-prof', '--cpu-prof-dir', dir] : []), ...(table.flags ?? []), join(benchDir, 'child.mjs'), table.file, subject, JSON.stringify(params)],
    { cwd: benchDir, env: { ...process.env, BENCH_WORK: workDir }, encoding: 'utf8' },
  );
// A table's setup (REOPEN fills a directory) runs first, unprofiled, as the bench runs it.
if (table.setup && run(table.setup.subject, table.setup.params, false).status !== 0) {
  console.error(`${table.id}: setup failed`);
  process.exit(1);
}
const started = performance.now();
const child = run(selected.subject, selected.params, true);
const wallMs = performance.now() - started;
rmSync(workDir, { recursive: true, force: true });
if (table.setup) rmSync(table.setup.params.dir, { recursive: true, force: true });
const line = child.stdout.split('\n').findLast((l) => l.startsWith('@result '));
if (child.status !== 0 || !line) {
  console.error(child.stderr || `exit ${child.status}`);
  process.exit(1);
}
const result = JSON.parse(line.slice('@result '.length)).ok;
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));

// Self time per node: each sample's delta belongs to the node it hit.
const selfUs = new Map();
profile.samples.forEach((node, i) => selfUs.set(node, (selfUs.get(node) ?? 0) + (profile.timeDeltas[i] ?? 0)));

const maps = new Map();
/** `src/file.ts:line` for a dist/ frame with a source map, else the file's name and line. */
function where({ url, lineNumber, columnNumber }) {
  if (!url) return '';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  if (path.startsWith(join(root, 'dist'))) {
    if (!maps.has(path)) {
      let map;
      try {
        map = new SourceMap(JSON.parse(readFileSync(`${path}.map`, 'utf8')));
      } catch {
        map = undefined;
      }
      maps.set(path, map);
    }
    const entry = maps.get(path)?.findEntry(lineNumber, columnNumber);
    if (entry?.originalSource) return `${relative(root, join(dirname(path), entry.originalSource.replace(/^file:\/\//, '')))}:${entry.originalLine + 1}`;
  }
  return `${path.startsWith(root) ? relative(root, path) : basename(path)}:${lineNumber + 1}`;
}

/** Whose code a frame is: pocketmq's (src/ through dist/), the bench's, or the rest (Node, V8, peers). */
function owner(name, location) {
  if (name.startsWith('(')) return name;
  if (location === '') return '(native, unattributed)';
  if (location.startsWith('src/')) return 'pocketmq (src/)';
  if (location.startsWith('bench/')) return 'the bench harness (bench/)';
  return 'Node internals and other JavaScript';
}

const byFunction = new Map();
const byFile = new Map();
const byOwner = new Map();
const add = (map, key, us) => map.set(key, (map.get(key) ?? 0) + us);
let totalUs = 0;
let idleUs = 0;
let gcUs = 0;
for (const node of profile.nodes) {
  const us = selfUs.get(node.id) ?? 0;
  totalUs += us;
  const name = node.callFrame.functionName || '(anonymous)';
  if (name === '(idle)') idleUs += us;
  if (name === '(garbage collector)') gcUs += us;
  const location = where(node.callFrame);
  add(byFunction, `${name} ${location}`.trim(), us);
  if (location.startsWith('src/')) add(byFile, location.slice(0, location.lastIndexOf(':')), us);
  add(byOwner, owner(node.callFrame.functionName, location), us);
}
const busyUs = totalUs - idleUs;
const n = result.n;
const pct = (us) => `${((100 * us) / busyUs).toFixed(1)} %`;

console.log(`${table.id} / ${selected.label}: ${JSON.stringify(selected.params)}`);
console.log(`result ${JSON.stringify(result)}`);
console.log(`process ${(wallMs / 1000).toFixed(2)} s wall; profiled ${(totalUs / 1e6).toFixed(2)} s, of which idle ${(idleUs / 1e6).toFixed(2)} s`);
console.log(`busy ${(busyUs / n).toFixed(2)} µs per message (${n} messages), garbage collector ${pct(gcUs)} of busy time`);
const print = (entries, limit) => {
  for (const [key, us] of [...entries].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, limit)) {
    console.log(`${pct(us).padStart(8)}  ${(us / n).toFixed(3).padStart(8)} µs/msg  ${key}`);
  }
};
console.log('\nself time by whose code it is:');
print(byOwner, Infinity);
console.log('\npocketmq self time by source file:');
print(byFile, 12);
console.log(`\nself time (share of busy time), top ${top}:`);
print(byFunction, top);
console.log(`\nprofile: ${join(dir, file)}`);
