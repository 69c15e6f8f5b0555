// `npm run bench`: pocketmq and its peers side by side, each measurement in a fresh Node
// process, repeated (median, with min–max), printed as markdown tables with the ratio to the
// reference peer, and written to docs/benchmarks.md.
//
//   node bench/index.mjs [--repeats 3] [--only W1,W4] [--quick]
//
// Plain JavaScript on purpose: it runs on plain `node` (no loader between pocketmq and the
// clock), and the peers' types are not installed where the library is type-checked.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median } from './lib.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDir);
const workDir = join(benchDir, '.work');
const docPath = join(root, 'docs', 'benchmarks.md');

// ------------------------------------------------------------------------------- options

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const quick = args.includes('--quick');
const repeats = Number(flag('--repeats') ?? (quick ? 1 : 3));
const only = flag('--only')?.split(',').map((s) => s.trim().toUpperCase());
/** --quick shrinks every case tenfold: a smoke test of the harness, not a measurement. */
const scale = (n) => (quick ? Math.max(100, Math.round(n / 10)) : n);

// ------------------------------------------------------------------------------- formatting

const int = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
const dec = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
/** Sub-microsecond figures keep two decimals; a backlog's seconds need none. */
const micros = (x) => (Number.isFinite(x) && x >= 100 ? int(x) : dec(x, 2));
const ratio = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '–');
const rate = (key) => (r) => (r.n / r[key]) * 1000;

// ------------------------------------------------------------------------------- the cases

const has = (file) => existsSync(join(root, file));
const needsFile = () => (has('src/file.ts') ? undefined : 'src/file.ts does not exist yet (FileStorage has not landed)');
const needsTopic = () => (has('src/topic.ts') ? undefined : 'src/topic.ts does not exist yet (Topic has not landed)');
const needsCrypto = () => (has('src/crypto.ts') ? undefined : 'src/crypto.ts does not exist yet (pocketmq/crypto has not landed)');
const needsRedisEntry = () => (has('src/redis.ts') ? undefined : 'src/redis.ts does not exist yet (RedisStorage has not landed)');

/** RedisStorage against BullMQ and bee-queue on one redis-server: sends awaited one by one, or `inFlight` at a time. */
function redisTable(inFlight) {
  const one = inFlight === 1;
  const params = { n: scale(one ? 5_000 : 20_000), bytes: 100, inFlight };
  return {
    id: one ? 'REDIS-sequential' : 'REDIS-in-flight',
    title: `RedisStorage vs BullMQ and bee-queue end to end, ${one ? 'sends awaited one by one' : `${int(inFlight)} sends in flight`}: send ${int(params.n)}, then consume + ack (concurrency 16)`,
    note: 'msgs/s = messages / (send time + drain time). All on the same redis-server the bench starts on 127.0.0.1 (no persistence); BullMQ jobs `removeOnComplete`, bee-queue jobs `removeOnSuccess`.',
    requires: needsRedisEntry,
    redis: true,
    file: 'redis',
    rows: [
      { label: 'pocketmq', subject: one ? 'pocketmq sequential' : 'pocketmq in flight', params },
      { label: 'bullmq', subject: one ? 'bullmq sequential' : 'bullmq in flight', params },
      { label: 'bee-queue', subject: one ? 'bee-queue sequential' : 'bee-queue in flight', params },
    ],
    reference: 'bullmq',
    columns: [
      { label: 'msgs/s end to end', value: rate('endToEndMs'), fmt: int },
      { label: 'send msgs/s', value: rate('ms'), fmt: int },
    ],
    targets: [{ text: `≥ ${one ? '1.0' : '2'}× BullMQ end to end`, check: (t) => ratioTarget(t, 'pocketmq', one ? 1 : 2) }],
  };
}

/** The first row whose label starts with `prefix`. */
const row = (results, prefix) => results.find((r) => r.label.startsWith(prefix));

/**
 * A table: rows (label, case file, subject, params), columns computed from each run's result,
 * the primary column (ratio to the reference row), and targets checked on the medians.
 */
function w1Table(concurrency) {
  const n = scale(1_000_000);
  const params = { n, concurrency };
  return {
    id: `W1-c${concurrency}`,
    title: `W1 memory, concurrency ${concurrency}: send ${int(n)} \`{ id }\`, then drain with an async no-op handler`,
    note: 'msgs/s = messages / (send time + drain time). pocketmq acks every message (leases, acks, `idle()`); sends are awaited, 1,000 in flight. The peers push without awaiting (fastq: `fastq.promise`, paused while filling).',
    file: 'w1',
    rows: [
      { label: 'pocketmq', subject: 'pocketmq', params },
      { label: 'fastq', subject: 'fastq', params },
      { label: 'p-queue', subject: 'p-queue', params },
      { label: 'better-queue (20,000 msgs)', subject: 'better-queue', params: { ...params, n: scale(20_000) } },
      { label: 'floor: ring buffer', subject: 'ring buffer', params },
    ],
    reference: 'fastq',
    columns: [
      { label: 'msgs/s', value: (r) => (r.n / (r.sendMs + r.drainMs)) * 1000, fmt: int },
      { label: 'send msgs/s', value: rate('sendMs'), fmt: int },
      { label: 'drain msgs/s', value: rate('drainMs'), fmt: int },
    ],
    targets: [
      { text: '≥ 1.5× fastq msgs/s, with full ack semantics', check: (t) => ratioTarget(t, 'pocketmq', 1.5) },
    ],
  };
}

/**
 * W1 at concurrency 16 with OpenTelemetry off, on with the API alone (no-op provider), and on
 * with the SDK exporting to memory (issue 14). Fewer messages than W1: the SDK keeps every span.
 */
function otelTable() {
  const params = { n: scale(200_000), concurrency: 16 };
  return {
    id: 'OTEL',
    title: `OpenTelemetry: what instrumentation costs on W1 (memory, concurrency 16, ${int(params.n)} \`{ id }\`)`,
    note: 'msgs/s = messages / (send time + drain time), as W1. "off": pocketmq/otel not loaded (what W1 measures, metrics() included). "no-op provider": `instrument()` with no SDK registered. "SDK": `BasicTracerProvider` with a `BatchSpanProcessor` into an `InMemorySpanExporter`, a `MeterProvider` with a reader, the AsyncLocalStorage context manager: one send span and one process span per message, the counters and the duration histogram.',
    file: 'otel',
    rows: [
      { label: 'OpenTelemetry off', subject: 'off', params },
      { label: 'instrument(), no-op provider', subject: 'no-op provider', params },
      { label: 'instrument(), SDK + in-memory exporter', subject: 'SDK, in-memory exporter', params },
    ],
    reference: 'OpenTelemetry off',
    columns: [
      { label: 'msgs/s', value: (r) => (r.n / (r.sendMs + r.drainMs)) * 1000, fmt: int },
      { label: 'send msgs/s', value: rate('sendMs'), fmt: int },
      { label: 'drain msgs/s', value: rate('drainMs'), fmt: int },
    ],
    targets: [],
  };
}

/**
 * `label`'s figure over the reference's in `column`, one per repeat (the rows of a repeat run
 * one after the other): its min–max says whether a target holds in every run, not just the median.
 */
function runRatios(table, label, column = 0) {
  const r = row(table.results, label);
  const ref = row(table.results, table.reference);
  const value = table.columns[column].value;
  const count = Math.min(r?.runs.length ?? 0, ref?.runs.length ?? 0);
  return Array.from({ length: count }, (_, k) => value(r.runs[k]) / value(ref.runs[k]));
}

/** "lo–hi" over `values` formatted by `fmt`, or '–' with none. */
function range(values, fmt) {
  return values.length === 0 ? '–' : `${fmt(Math.min(...values))}–${fmt(Math.max(...values))}`;
}

/** pocketmq's ratio to the reference on the primary column, against `min`. */
function ratioTarget(table, label, min) {
  const r = row(table.results, label);
  const x = r?.ratio;
  return {
    figure: `${ratio(x)} (${int(r?.medians?.[0])} vs ${int(row(table.results, table.reference)?.medians?.[0])})`,
    range: range(runRatios(table, label), ratio),
    met: Number.isFinite(x) ? x >= min : undefined,
  };
}

function absoluteTarget(table, label, column, test, unit) {
  const r = row(table.results, label);
  const x = r?.medians?.[column];
  const fmt = (v) => (Number.isFinite(v) ? (v >= 100 ? int(v) : dec(v, 1)) : '–');
  return { figure: `${fmt(x)} ${unit}`, range: `${range(r?.runs.map(table.columns[column].value) ?? [], fmt)} ${unit}`, met: Number.isFinite(x) ? test(x) : undefined };
}

/** Lower is better in `column`: pocketmq's median below the reference's; the range is per-run ratios. */
function aheadTarget(table, label, column) {
  const mine = row(table.results, label)?.medians?.[column];
  const theirs = row(table.results, table.reference)?.medians?.[column];
  const fmt = table.columns[column].fmt;
  return {
    figure: `${fmt(mine)} vs ${fmt(theirs)} (${ratio(mine / theirs)})`,
    range: range(runRatios(table, label, column), ratio),
    met: Number.isFinite(mine) && Number.isFinite(theirs) ? mine < theirs : undefined,
  };
}

const latencyColumns = [
  { label: 'p50 µs', value: (r) => r.p50, fmt: dec },
  { label: 'p99 µs', value: (r) => r.p99, fmt: dec },
  { label: 'p99.9 µs', value: (r) => r.p999, fmt: dec },
  { label: 'max µs', value: (r) => r.max, fmt: dec },
];

/** Every table of the bench, with the sizes `--quick` selects (bench/profile.mjs reads them too). */
export function tables() {
  const w5Depths = [10_000, 100_000, 1_000_000].map(scale);
  const w2 = { rate: 20_000, seconds: quick ? 0.5 : 2, warmup: 0.1 };
  // A fresh pocketmq falls behind for its first 0.4 s on a quiet machine (JIT warm-up at
  // 20,000 msg/s), for over 1 s on a loaded one: the first 2 s are dropped.
  const w2Bursty = { rate: 20_000, seconds: quick ? 0.6 : 6, warmup: 1 / 3, burst: 100, sample: 10 };
  const w3 = { n: scale(200_000), subscribers: 10 };
  const w3Async = { ...w3, inFlight: 100, latency: true, sample: 16 };
  const e2eN = scale(20_000);
  const reopenN = scale(1_000_000);
  const reopenDir = join(workDir, 'reopen');
  return [
    w1Table(1),
    w1Table(16),
    otelTable(),
    {
      id: 'W5',
      title: 'W5 memory: heap per pending message and send cost per message, by depth',
      note: 'Heap measured with `--expose-gc` around sending N messages that stay pending (bodies `{ id }` included). Lower is better; the ratio is to fastq at the same depth.',
      file: 'w5',
      flags: ['--expose-gc'],
      rows: [
        ...w5Depths.map((n) => ({ label: `pocketmq ${int(n)}`, subject: 'pocketmq', params: { n } })),
        ...w5Depths.slice(1).map((n) => ({ label: `fastq ${int(n)}`, subject: 'fastq', params: { n } })),
        { label: `p-queue ${int(w5Depths[2])}`, subject: 'p-queue', params: { n: w5Depths[2] } },
      ],
      reference: `fastq ${int(w5Depths[2])}`,
      columns: [
        { label: 'bytes/msg', value: (r) => r.bytesPerMsg, fmt: int },
        { label: 'ns/msg (send)', value: (r) => r.nsPerMsg, fmt: int },
      ],
      targets: [
        { text: '≤ 300 B per pending message (1 M pending)', check: (t) => absoluteTarget(t, `pocketmq ${int(w5Depths[2])}`, 0, (x) => x <= 300, 'B') },
        {
          text: '1 M costs ≤ 1.2× per message what 100 k does',
          check: (t) => {
            const big = row(t.results, `pocketmq ${int(w5Depths[2])}`)?.medians?.[1];
            const mid = row(t.results, `pocketmq ${int(w5Depths[1])}`)?.medians?.[1];
            const x = big / mid;
            const bigRuns = row(t.results, `pocketmq ${int(w5Depths[2])}`)?.runs ?? [];
            const midRuns = row(t.results, `pocketmq ${int(w5Depths[1])}`)?.runs ?? [];
            const perRun = bigRuns.slice(0, midRuns.length).map((b, k) => b.nsPerMsg / midRuns[k].nsPerMsg);
            return { figure: `${ratio(x)} (${int(big)} vs ${int(mid)} ns)`, range: range(perRun, ratio), met: Number.isFinite(x) ? x <= 1.2 : undefined };
          },
        },
      ],
    },
    {
      id: 'W2',
      title: `W2 memory: producer paced at ${int(w2.rate)} msg/s, consumer in the same process; send → handler latency`,
      note: `${int(w2.rate * w2.seconds)} messages per run, the first 10% dropped as warm-up. µs, lower is better.`,
      file: 'w2',
      rows: ['pocketmq', 'fastq', 'p-queue', 'mqemitter', 'ring buffer'].map((s) => ({ label: s === 'ring buffer' ? 'floor: ring buffer' : s, subject: s, params: w2 })),
      reference: 'fastq',
      columns: latencyColumns,
      targets: [
        { text: 'p50 ≤ 25 µs', check: (t) => absoluteTarget(t, 'pocketmq', 0, (x) => x <= 25, 'µs') },
        { text: 'p99 ≤ 150 µs', check: (t) => absoluteTarget(t, 'pocketmq', 1, (x) => x <= 150, 'µs') },
      ],
    },
    {
      id: 'W2-bursty',
      title: `W2 memory, bursty: ${w2Bursty.burst} sends every ${dec((1000 * w2Bursty.burst) / w2Bursty.rate, 0)} ms (${int(w2Bursty.rate)} msg/s), one consumer at concurrency 1 with an \`async\` handler; send → handler latency`,
      note: `${int(w2Bursty.rate * w2Bursty.seconds)} messages per run, the first ${dec(w2Bursty.seconds * w2Bursty.warmup, 1)} s dropped as warm-up (a fresh process's JIT warm-up; under load pocketmq falls behind for over a second); latency from a message's send call to its handler's start (every ${w2Bursty.sample}th message is timed: a clock read costs ~0.3 µs on this VM, and stamping all 100 would lengthen every burst), so a message waits behind those sent before it in its burst. The producer sleeps on a timer until a burst is due; its sends are called in a loop without awaiting each, then awaited together (\`Promise.all\`), as a bursty producer writes it; the peers push likewise (fastq: \`fastq.promise\`, concurrency 1, async worker; p-queue: concurrency 1, async task). mqemitter, \`concurrency: 1\` with an \`async\` listener that calls back at once, calls the listener inside \`emit()\` (nothing waits in a queue): a bound, not a peer. The floor: a ring buffer and one loop awaiting an \`async\` handler per item. µs, lower is better.`,
      file: 'w2',
      rows: [
        { label: 'pocketmq', subject: 'pocketmq', params: w2Bursty },
        { label: 'fastq', subject: 'fastq', params: w2Bursty },
        { label: 'p-queue', subject: 'p-queue', params: w2Bursty },
        { label: 'mqemitter, async listener (inside emit)', subject: 'mqemitter async', params: w2Bursty },
        { label: 'floor: ring buffer', subject: 'ring buffer', params: w2Bursty },
      ],
      reference: 'fastq',
      columns: latencyColumns,
      targets: [
        { text: 'p50 ≤ 30 µs', check: (t) => absoluteTarget(t, 'pocketmq', 0, (x) => x <= 30, 'µs') },
        { text: 'p99 ≤ 150 µs', check: (t) => absoluteTarget(t, 'pocketmq', 1, (x) => x <= 150, 'µs') },
        { text: 'p50 below fastq\'s', check: (t) => aheadTarget(t, 'pocketmq', 0) },
      ],
    },
    {
      id: 'W3',
      title: `W3 Topic: ${w3.subscribers} subscribers, ${int(w3.n)} publishes`,
      note:
        'Time until every subscriber handled every message (durable: and acked). Publishes 1,000 in flight (the durable target is measured in this shape; W3-async has it in bursts of 100, informative). Live listeners are synchronous no-ops, the same work as mqemitter\'s `(msg, cb) => cb()`; the "async listeners" row is informative here: W3-async compares them with mqemitter\'s async listeners, with a target.',
      requires: needsTopic,
      file: 'w3',
      rows: [
        { label: 'pocketmq live listeners', subject: 'pocketmq live', params: w3 },
        { label: 'pocketmq live listeners, async (informative)', subject: 'pocketmq live async', params: w3 },
        { label: 'pocketmq durable subscriptions', subject: 'pocketmq durable', params: w3 },
        { label: 'mqemitter', subject: 'mqemitter', params: w3 },
      ],
      reference: 'mqemitter',
      columns: [{ label: 'publishes/s', value: rate('ms'), fmt: int }],
      targets: [
        { text: 'live listeners ≥ 1.0× mqemitter', check: (t) => ratioTarget(t, 'pocketmq live', 1.0) },
        { text: 'durable subscriptions ≥ 0.2× mqemitter', check: (t) => ratioTarget(t, 'pocketmq durable', 0.2) },
      ],
    },
    {
      id: 'W3-async',
      title: `W3 Topic, async listeners: ${w3Async.subscribers} subscribers, ${int(w3Async.n)} publishes in bursts of ${w3Async.inFlight}`,
      note: `Publishes ${w3Async.inFlight} at a time (called in a loop, then awaited together), until every subscriber handled every message (durable: and acked). Every listener is an \`async\` no-op; for mqemitter that is \`async (msg, cb) => { cb() }\` (it ignores the promise, the callback releases the message). Latency: from the publish call to the first subscriber's handler start, every ${w3Async.sample}th message timed (a clock read is not free), the first 10% dropped. The durable row (informative) is W3's durable subscriptions in this burst shape; W3's target row keeps 1,000 in flight.`,
      requires: needsTopic,
      file: 'w3',
      rows: [
        { label: 'pocketmq live listeners, async', subject: 'pocketmq live async', params: w3Async },
        { label: 'pocketmq live listeners, sync (informative)', subject: 'pocketmq live', params: w3Async },
        { label: 'pocketmq durable subscriptions (informative)', subject: 'pocketmq durable', params: w3Async },
        { label: 'mqemitter, async listeners', subject: 'mqemitter async', params: w3Async },
      ],
      reference: 'mqemitter',
      columns: [
        { label: 'publishes/s', value: rate('ms'), fmt: int },
        { label: 'listener p50 µs', value: (r) => r.p50, fmt: micros },
        { label: 'listener p99 µs', value: (r) => r.p99, fmt: micros },
      ],
      targets: [
        { text: 'async live listeners ≥ 1.0× mqemitter (async listeners)', check: (t) => ratioTarget(t, 'pocketmq live listeners, async', 1.0) },
        { text: 'async live listener p50 < 5 µs', check: (t) => absoluteTarget(t, 'pocketmq live listeners, async', 1, (x) => x < 5, 'µs') },
      ],
    },
    ...[100, 1000].map((bytes) => ({
      id: `W4-${bytes}`,
      title: `W4 FileStorage \`fsync: 'always'\`, ${bytes === 100 ? '100 B' : '1 KB'} bodies, each send awaited`,
      note: 'The floor writes one record and fsyncs, per record.',
      requires: needsFile,
      file: 'w4',
      rows: [
        { label: 'pocketmq', subject: 'pocketmq sequential', params: { n: scale(2_000), bytes, fsync: 'always' } },
        { label: 'floor: append + fsync per record', subject: 'raw append', params: { n: scale(2_000), bytes, every: 1 } },
      ],
      reference: 'floor: append + fsync per record',
      columns: [{ label: 'sends/s', value: rate('ms'), fmt: int }],
      targets: [{ text: '≥ 0.8× the fsync-per-record floor', check: (t) => ratioTarget(t, 'pocketmq', 0.8) }],
    })),
    {
      id: 'W4-pipelined',
      title: "W4 FileStorage `fsync: 'always'`, 100 B bodies, 1,000 sends in flight",
      note: 'Group commit: the sends of one tick share one write and one fsync. The floor writes each record and fsyncs every 1,000.',
      requires: needsFile,
      file: 'w4',
      rows: [
        { label: 'pocketmq', subject: 'pocketmq pipelined', params: { n: scale(200_000), bytes: 100, fsync: 'always', inFlight: 1000 } },
        { label: 'floor: append + fsync per 1,000', subject: 'raw append', params: { n: scale(200_000), bytes: 100, every: 1000 } },
      ],
      reference: 'floor: append + fsync per 1,000',
      columns: [{ label: 'sends/s', value: rate('ms'), fmt: int }],
      targets: [{ text: '≥ 200,000 sends/s', check: (t) => absoluteTarget(t, 'pocketmq', 0, (x) => x >= 200_000, 'sends/s') }],
    },
    ...[
      ['sequential', 'each send awaited', 'pocketmq sequential', scale(2_000), undefined],
      ['in-flight', '1,000 sends in flight', 'pocketmq pipelined', scale(200_000), 1000],
    ].map(([id, how, subject, n, inFlight]) => ({
      id: `W4-encryption-${id}`,
      title: `W4 FileStorage \`fsync: 'always'\`, 100 B bodies, ${how}: encryption (pocketmq/crypto) on vs off`,
      note: 'The same W4 run with `codec: encryption(...)` (AES-256-GCM, a fresh nonce per body) and without: what encrypting every body at rest costs.',
      requires: needsCrypto,
      file: 'w4',
      rows: [
        { label: 'encryption on', subject, params: { n, bytes: 100, fsync: 'always', inFlight, encrypted: true } },
        { label: 'encryption off', subject, params: { n, bytes: 100, fsync: 'always', inFlight } },
      ],
      reference: 'encryption off',
      columns: [{ label: 'sends/s', value: rate('ms'), fmt: int }],
      targets: [],
    })),
    {
      id: 'W4-enqueue',
      title: "W4 FileStorage without an fsync per send (`fsync: 'interval'`), 100 B bodies, each send awaited",
      note: "plainjob: better-sqlite3 in WAL mode with synchronous=NORMAL (its own setting), `add()` per job. Neither fsyncs per send; both survive a process crash.",
      requires: needsFile,
      file: 'w4',
      rows: [
        { label: 'pocketmq', subject: 'pocketmq sequential', params: { n: scale(50_000), bytes: 100, fsync: 'interval' } },
        { label: 'plainjob', subject: 'plainjob', params: { n: scale(20_000), bytes: 100 } },
      ],
      reference: 'plainjob',
      columns: [{ label: 'sends/s', value: rate('ms'), fmt: int }],
      targets: [{ text: "≥ 3.5× plainjob's enqueue rate", check: (t) => ratioTarget(t, 'pocketmq', 3.5) }],
    },
    {
      id: 'W4-end-to-end',
      title: "W4 end to end: sends each awaited, then consume + ack (concurrency 16); FileStorage `fsync: 'interval'` vs BullMQ",
      note: 'msgs/s = messages / (send time + drain time). BullMQ runs on a redis-server the bench starts on 127.0.0.1 (no persistence), jobs `removeOnComplete`.',
      requires: needsFile,
      redis: true,
      file: 'w4',
      rows: [
        { label: 'pocketmq', subject: 'pocketmq end to end', params: { n: e2eN, bytes: 100, fsync: 'interval' } },
        { label: `bullmq (${int(scale(5_000))} msgs)`, subject: 'bullmq', params: { n: scale(5_000), bytes: 100 } },
      ],
      reference: 'bullmq',
      columns: [
        { label: 'msgs/s end to end', value: rate('endToEndMs'), fmt: int },
        { label: 'send msgs/s', value: rate('ms'), fmt: int },
      ],
      targets: [{ text: '≥ 10× BullMQ end to end', check: (t) => ratioTarget(t, 'pocketmq', 10) }],
    },
    {
      id: 'REOPEN',
      title: `Reopen FileStorage with ${int(reopenN)} pending messages`,
      note: 'A separate process fills the directory first (untimed); each run opens it in a fresh process. ms, lower is better.',
      requires: needsFile,
      file: 'w4',
      setup: { subject: 'reopen setup', params: { n: reopenN, dir: reopenDir } },
      rows: [{ label: 'pocketmq', subject: 'pocketmq reopen', params: { n: reopenN, dir: reopenDir } }],
      reference: 'pocketmq',
      columns: [{ label: 'open ms', value: (r) => r.ms, fmt: int }],
      targets: [{ text: '≤ 2 s', check: (t) => absoluteTarget(t, 'pocketmq', 0, (x) => x <= 2000, 'ms') }],
    },
    redisTable(1),
    redisTable(1_000),
  ];
}

// ------------------------------------------------------------------------------- running

function installPeers() {
  const manifest = JSON.parse(readFileSync(join(benchDir, 'package.json'), 'utf8'));
  const missing = Object.keys(manifest.dependencies).filter((name) => !existsSync(join(benchDir, 'node_modules', name, 'package.json')));
  if (missing.length === 0) return;
  console.log(`Installing the peers in bench/ (missing: ${missing.join(', ')})…`);
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: benchDir, stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.status !== 0) throw new Error('npm ci in bench/ failed');
}

/**
 * bench/node_modules/pocketmq → the repository, so the cases import pocketmq by name through
 * its exports map and get the built dist/, as users do. A link made here rather than a
 * `file:..` dependency, which would tie bench/package-lock.json to the library's own manifest.
 */
function linkPocketmq() {
  const link = join(benchDir, 'node_modules', 'pocketmq');
  // A link left by another checkout (a copied bench/node_modules) would bench that checkout's dist/.
  if (existsSync(join(link, 'package.json')) && realpathSync(link) === realpathSync(root)) return;
  rmSync(link, { recursive: true, force: true });
  symlinkSync(root, link, 'junction');
}

/** Runs one subject in a fresh process; resolves { ok } | { skip } | { error }. */
function runChild(table, subject, params, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...(table.flags ?? []), join(benchDir, 'child.mjs'), table.file, subject, JSON.stringify(params)], {
      cwd: benchDir,
      env: { ...process.env, ...env, BENCH_WORK: workDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').findLast((l) => l.startsWith('@result '));
      if (code === 0 && line) resolve(JSON.parse(line.slice('@result '.length)));
      else resolve({ error: `exit ${code ?? signal}: ${stderr.trim().split('\n').slice(-3).join(' | ') || 'no output'}` });
    });
  });
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function ping(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('error', () => resolve(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => {
      socket.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
  });
}

/** Starts a throwaway redis-server on 127.0.0.1 (no persistence); undefined with a reason when there is none. */
async function startRedis() {
  if (spawnSync('redis-server', ['--version']).status !== 0) return { reason: 'redis-server is not installed (e.g. `apt-get install redis-server`)' };
  const port = await freePort();
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    if (await ping(port)) return { port, stop: () => server.kill('SIGTERM') };
    await new Promise((r) => setTimeout(r, 50));
  }
  server.kill('SIGKILL');
  return { reason: `redis-server did not answer on port ${port}` };
}

async function runTable(table) {
  table.results = table.rows.map((r) => ({ ...r, runs: [], skip: undefined, error: undefined }));
  const why = table.requires?.();
  if (why) {
    table.skipped = why;
    return;
  }
  let redis;
  if (table.redis) {
    redis = await startRedis();
    if (!redis.port) {
      for (const r of table.results) if (r.subject === 'bullmq') r.skip = redis.reason;
    }
  }
  const env = redis?.port ? { REDIS_PORT: String(redis.port) } : {};
  try {
    if (table.setup) {
      const setup = await runChild(table, table.setup.subject, table.setup.params, env);
      if (!setup.ok) {
        table.skipped = setup.skip ?? `setup failed: ${setup.error}`;
        return;
      }
    }
    // Interleave the rows across repeats so that drift on the machine spreads over all of them.
    for (let k = 0; k < repeats; k++) {
      for (const r of table.results) {
        if (r.skip || r.error) continue;
        const out = await runChild(table, r.subject, r.params, env);
        if (out.ok) r.runs.push(out.ok);
        else if (out.skip) r.skip = out.skip;
        else r.error = out.error;
        if (out.error) console.error(`\n${table.id} ${r.label}: ${out.error}`);
        process.stderr.write('.');
      }
    }
  } finally {
    redis?.stop?.();
    if (table.setup) rmSync(table.setup.params.dir, { recursive: true, force: true });
  }
  for (const r of table.results) {
    if (r.runs.length === 0) continue;
    r.medians = table.columns.map((c) => median(r.runs.map(c.value)));
    const primary = r.runs.map(table.columns[0].value);
    r.min = Math.min(...primary);
    r.max = Math.max(...primary);
  }
  const ref = row(table.results, table.reference)?.medians?.[0];
  for (const r of table.results) if (r.medians) r.ratio = r.medians[0] / ref;
  table.checks = table.targets.map((t) => ({ text: t.text, ...t.check(table) }));
}

function renderTable(table) {
  const lines = [`### ${table.title}`, ''];
  if (table.note) lines.push(table.note, '');
  if (table.skipped) {
    lines.push(`Skipped: ${table.skipped}.`, '');
    return lines.join('\n');
  }
  const [primary, ...rest] = table.columns;
  const refLabel = row(table.results, table.reference)?.label ?? table.reference;
  lines.push(`| | ${primary.label} (median) | min–max | ${rest.map((c) => c.label).join(' | ')}${rest.length ? ' | ' : ''}× ${refLabel} |`);
  lines.push(`|---|${'---:|'.repeat(3 + rest.length)}`);
  for (const r of table.results) {
    if (!r.medians) {
      const why = r.skip ? `skipped: ${r.skip}` : r.error ? `failed: ${r.error}` : 'no result';
      lines.push(`| ${r.label} | ${why} |${' |'.repeat(2 + rest.length)}`);
      continue;
    }
    const cells = [primary.fmt(r.medians[0]), `${primary.fmt(r.min)}–${primary.fmt(r.max)}`, ...rest.map((c, i) => c.fmt(r.medians[i + 1])), ratio(r.ratio)];
    const partial = r.runs.length < repeats ? ` (${r.runs.length} of ${repeats} runs; then failed: ${r.error})` : '';
    lines.push(`| ${r.label}${partial} | ${cells.join(' | ')} |`);
  }
  lines.push('');
  for (const c of table.checks) lines.push(`- Target ${c.text}: **${c.figure}** — ${c.met === undefined ? 'not measured' : c.met ? 'met' : 'missed'}`);
  lines.push('');
  return lines.join('\n');
}

function machine() {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB memory, ${os.type()} ${os.release()}`;
}

function summary(done) {
  const lines = ['| case | target | pocketmq (median) | min–max of the runs | met (median) |', '|---|---|---|---|---|'];
  for (const t of done) {
    if (t.skipped) {
      lines.push(`| ${t.id} | ${t.targets.map((x) => x.text).join('; ')} | skipped: ${t.skipped} | | – |`);
      continue;
    }
    for (const c of t.checks) lines.push(`| ${t.id} | ${c.text} | ${c.figure} | ${c.range} | ${c.met === undefined ? '–' : c.met ? 'yes' : '**no**'} |`);
  }
  return lines.join('\n');
}

const START = '<!-- bench:results:start -->';
const END = '<!-- bench:results:end -->';

function writeDoc(done, header) {
  const results = [START, header, '', '## Summary', '', summary(done), '', '## Cases', '', ...done.map(renderTable), END].join('\n');
  let doc = existsSync(docPath) ? readFileSync(docPath, 'utf8') : '';
  if (doc.includes(START) && doc.includes(END)) {
    doc = doc.slice(0, doc.indexOf(START)) + results + doc.slice(doc.indexOf(END) + END.length);
  } else {
    doc = `# Benchmarks\n\nWritten by \`npm run bench\` (bench/index.mjs); the results section is replaced on every run, the notes below it are kept.\n\n${results}\n\n## Notes\n`;
  }
  mkdirSync(dirname(docPath), { recursive: true });
  writeFileSync(docPath, doc);
}

async function main() {
  installPeers();
  linkPocketmq();
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  const selected = tables().filter((t) => !only || only.some((o) => t.id.toUpperCase().startsWith(o)));
  const header = [
    `Run on ${new Date().toISOString().slice(0, 10)} with Node ${process.version} on ${machine()}.`,
    `Each figure is the median of ${repeats} run${repeats === 1 ? '' : 's'}, each in a fresh Node process${quick ? ' (`--quick`: a tenth of the sizes; a smoke test, not a measurement)' : ''}.`,
  ].join('\n');
  console.log(header);
  const started = Date.now();
  const done = [];
  for (const table of selected) {
    process.stderr.write(`${table.id} `);
    await runTable(table);
    process.stderr.write('\n');
    console.log(`\n${renderTable(table)}`);
    done.push(table);
  }
  console.log(`\n## Summary\n\n${summary(done)}\n\n(${Math.round((Date.now() - started) / 1000)} s)`);
  if (only && !quick) console.log('\n--only: docs/benchmarks.md left as it was (it shows full runs only).');
  else if (quick) console.log('\n--quick: docs/benchmarks.md left as it was.');
  else writeDoc(done, header);
  rmSync(workDir, { recursive: true, force: true });
}

// Imported by bench/profile.mjs for the tables alone.
const entry = process.argv[1] && existsSync(process.argv[1]) ? realpathSync(process.argv[1]) : '';
if (import.meta.url === pathToFileURL(entry).href) await main();
