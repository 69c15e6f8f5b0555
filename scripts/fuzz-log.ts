/**
 * Fuzzes FileStorage's open: logs made by real use, then damaged (bits flipped, cut,
 * spliced, overwritten, fake frame headers, frames with good checksums and bad fields).
 * Every log must either open to a state where every later write (send, claim, ack,
 * nack with a delay, dead-letter, compaction, close) reopens cleanly, or fail to open
 * with CorruptLogError. Anything else (another error, a hang, a reopen failure after a
 * successful open) is a failure, printed with the seed and input that reproduce it.
 *
 * Usage: npm run fuzz -- [--runs 100000] [--seed S] [--start I]
 * (`--seed S --start I --runs 1` replays input I of seed S alone; a failing input's log is kept.)
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { CorruptLogError } from '../src/errors.js';
import { encodeFrame } from '../src/file/frame.js';
import { FileStorage } from '../src/file/file-storage.js';
import type { EnqueuePolicy, NewMessage } from '../src/storage/storage.js';
import { TestClock } from '../src/test-clock.js';

const START = 1_700_000_000_000;
const QUEUES = ['jobs', 'jobs.dlq', 'other', 'ev::subscriptions'];
const POLICY: EnqueuePolicy = { maxLength: undefined, overflow: 'reject', deadLetter: 'jobs.dlq', dedupeWindow: 60_000 };
const deadLetterOf = (queue: string): string | false => (queue === 'jobs.dlq' ? false : 'jobs.dlq');
/** Longer than any input takes on a loaded machine; an input that takes longer hangs. */
const HANG_MS = 20_000;

/** Outcome counts of a run, and the failures with what reproduces them. */
export interface FuzzReport {
  inputs: number;
  opened: number;
  refused: number;
  failures: { input: number; mutation: string; error: string; dir: string }[];
  ms: number;
}

/** A small seeded PRNG (mulberry32): each input draws from its own, so one input replays alone. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;
const int = (random: Random, n: number) => Math.floor(random() * n);
const pick = <T>(random: Random, items: readonly T[]): T => items[int(random, items.length)]!;

function message(id: string, now: number, random: Random): NewMessage {
  return {
    id,
    body: pick(random, [{ id }, 'text "quoted" ]', 42, null, [1, { a: 'PMQB' }], undefined, '\u2028\u0000😀']),
    headers: random() < 0.3 ? { type: 'x', __proto__: 'own' } : undefined,
    priority: int(random, 5) - 2,
    enqueuedAt: now,
    availableAt: now + (random() < 0.2 ? 1_000 : 0),
    expiresAt: random() < 0.1 ? now + 60_000 : undefined,
    dedupeId: random() < 0.2 ? `d${int(random, 5)}` : undefined,
    group: random() < 0.2 ? `g${int(random, 3)}` : undefined,
    correlationId: random() < 0.1 ? 'c' : undefined,
    subject: random() < 0.1 ? 'order.placed' : undefined,
  };
}

/** Drives a storage through every kind of write: what both the corpus and the checks use. */
async function use(storage: FileStorage, random: Random, now: number, rounds: number): Promise<void> {
  let n = 0;
  for (let round = 0; round < rounds; round++) {
    const queue = pick(random, QUEUES);
    const batch = Array.from({ length: 1 + int(random, 3) }, () => message(`m${now}-${round}-${n++}`, now, random));
    await storage.enqueue(queue, batch, { ...POLICY, deadLetter: deadLetterOf(queue), maxLength: random() < 0.1 ? 3 : undefined, overflow: random() < 0.5 ? 'reject' : 'drop-oldest' }, now).catch((error: unknown) => {
      if ((error as { code?: string }).code !== 'ERR_QUEUE_FULL') throw error;
    });
    const { delivered } = await storage.claim(queue, { max: 3, leaseMs: 30_000, maxAttempts: 3, deadLetter: deadLetterOf(queue) }, now + 5_000);
    for (const d of delivered) {
      const what = int(random, 4);
      if (what === 0) await storage.ack(queue, [d.receipt], now);
      else if (what === 1) await storage.release(queue, d.receipt, now + int(random, 10_000), now);
      else if (what === 2) await storage.deadLetter(queue, d.receipt, deadLetterOf(queue), { reason: 'rejected', error: 'boom' }, now);
      // what === 3: left in flight, as a crash leaves it
    }
    if (random() < 0.03) await storage.compact();
  }
}

/** The files of a directory, by name. */
type DirImage = Map<string, Buffer>;

function readDir(dir: string): DirImage {
  const image: DirImage = new Map();
  for (const name of readdirSync(dir)) if (name.endsWith('.pmq')) image.set(name, readFileSync(join(dir, name)));
  return image;
}

function writeDir(dir: string, image: DirImage): void {
  for (const name of readdirSync(dir)) rmSync(join(dir, name), { recursive: true, force: true });
  for (const [name, bytes] of image) writeFileSync(join(dir, name), bytes);
}

/** Logs made by real use: one segment, several segments, a snapshot and segments. */
async function corpus(seed: number, root: string): Promise<DirImage[]> {
  const images: DirImage[] = [];
  const setups = [
    { rounds: 6, segmentSize: 16 * 1024 * 1024 },
    { rounds: 30, segmentSize: 16 * 1024 * 1024 },
    { rounds: 60, segmentSize: 4096 },
    { rounds: 20, segmentSize: 4096, compact: true },
  ];
  for (let i = 0; i < setups.length; i++) {
    const setup = setups[i]!;
    const random = rng(seed ^ (0x9e3779b9 * (i + 1)));
    const dir = join(root, `corpus-${i}`);
    const storage = new FileStorage({ dir, fsync: 'never', segmentSize: setup.segmentSize, clock: new TestClock(START) });
    await use(storage, random, START, setup.rounds);
    if (setup.compact) {
      await storage.compact();
      await use(storage, random, START + 1_000, 5);
    }
    await storage.close();
    images.push(readDir(dir));
  }
  return images;
}

/** Field values that are not what the writer writes, as JSON text. */
const BAD_FIELDS = ['{"x":1}', '[]', 'null', '"x"', '""', '1.5', '-1', '1e400', '9007199254740993', 'true', '{"a":1}', '-0'];

/** A frame whose checksum passes: a real payload with one JSON value swapped for a bad one, or a crafted record. */
function craftedFrame(random: Random, image: DirImage): Buffer {
  if (random() < 0.5) {
    const bytes = pick(random, [...image.values()]);
    const text = bytes.subarray(8).toString('latin1');
    const frames = [...text.matchAll(/PMQB[\s\S]{8}(\[[^]*?\]\])(?=PMQB|$)/g)];
    const found = frames.length > 0 ? pick(random, frames)[1]! : '[1,[0,"jobs","x",0,1,1,null,null,null,null,null,null,null,0]]';
    // Swap one scalar (a number, string, null, true or false) for a bad value.
    const scalars = [...found.matchAll(/-?\d+(?:\.\d+)?(?:e[+-]?\d+)?|"(?:[^"\\]|\\.)*"|null|true|false/g)];
    const target = scalars.length > 1 ? scalars[1 + int(random, scalars.length - 1)]! : undefined;
    const payload = target ? found.slice(0, target.index) + pick(random, BAD_FIELDS) + found.slice(target.index! + target[0].length) : found;
    return encodeFrame(Buffer.from(payload, 'latin1').toString('utf8'));
  }
  const queue = `"${pick(random, QUEUES)}"`;
  const f = () => (random() < 0.3 ? pick(random, BAD_FIELDS) : undefined);
  const records = [
    `[0,${f() ?? queue},${f() ?? '"c1"'},${f() ?? '0'},${f() ?? String(START)},${f() ?? String(START)},${f() ?? 'null'},${f() ?? 'null'},${f() ?? 'null'},${f() ?? 'null'},${f() ?? 'null'},${f() ?? 'null'},${f() ?? 'null'},${f() ?? '0'},1]`,
    `[1,${f() ?? queue},${f() ?? '"c1"'},${f() ?? '1'}]`,
    `[2,${f() ?? queue},${f() ?? '"c1"'},${f() ?? String(START)}]`,
    `[3,${f() ?? queue},${f() ?? '"c1"'},${f() ?? '0'}]`,
    `[4,${f() ?? '"k"'},${f() ?? '"v"'}]`,
    `[5,${f() ?? queue},${f() ?? '1'},0,0,0,0,0]`,
    `[6,${f() ?? queue},${f() ?? '"d"'},${f() ?? '"c1"'},${f() ?? String(START)}]`,
  ];
  return encodeFrame(`[${f() ?? '99'},${pick(random, records)}]`);
}

/** One damaged copy of a corpus directory, and a name for what was done. */
function mutate(random: Random, base: DirImage): { image: DirImage; mutation: string } {
  const image: DirImage = new Map(base);
  const names = [...image.keys()].sort();
  const name = pick(random, names);
  let bytes = Buffer.from(image.get(name)!);
  const steps: string[] = [];
  const count = 1 + int(random, 2);
  for (let step = 0; step < count; step++) {
    const kind = int(random, 8);
    const at = int(random, bytes.length + 1);
    if (kind === 0) {
      const flips = 1 + int(random, 3);
      for (let i = 0; i < flips && bytes.length > 0; i++) bytes[int(random, bytes.length)]! ^= 1 << int(random, 8);
      steps.push(`flip${flips}`);
    } else if (kind === 1) {
      bytes = bytes.subarray(0, at);
      steps.push(`cut@${at}`);
    } else if (kind === 2) {
      const from = int(random, bytes.length + 1);
      const piece = bytes.subarray(from, from + int(random, 256));
      bytes = Buffer.concat([bytes.subarray(0, at), piece, bytes.subarray(at)]);
      steps.push(`splice${piece.length}@${at}`);
    } else if (kind === 3) {
      const junk = Buffer.from(Array.from({ length: 1 + int(random, 64) }, () => int(random, 256)));
      junk.copy(bytes, Math.min(at, Math.max(0, bytes.length - junk.length)));
      steps.push(`overwrite${junk.length}@${at}`);
    } else if (kind === 4) {
      const headers = Buffer.alloc(12 * (1 + int(random, 64)));
      for (let i = 0; i < headers.length; i += 12) {
        headers.write('PMQB', i, 'latin1');
        headers.writeUInt32LE(int(random, headers.length), i + 4);
      }
      bytes = Buffer.concat([bytes.subarray(0, at), headers, bytes.subarray(at)]);
      steps.push(`fakeheaders${headers.length}@${at}`);
    } else {
      // Most inputs: a frame with a good checksum and bad content, at the end or between frames.
      const frame = craftedFrame(random, image);
      const where = random() < 0.6 ? bytes.length : at;
      bytes = Buffer.concat([bytes.subarray(0, where), frame, bytes.subarray(where)]);
      steps.push(`crafted@${where}`);
    }
  }
  image.set(name, bytes);
  if (random() < 0.05 && names.length > 1) {
    const gone = pick(random, names.filter((n) => n !== name));
    image.delete(gone);
    steps.push(`rm ${gone}`);
  }
  return { image, mutation: `${name}: ${steps.join(', ')}` };
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${what} took over ${HANG_MS} ms`)), HANG_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** 'opened' or 'refused'; throws what makes the input a failure. */
async function check(dir: string, random: Random): Promise<'opened' | 'refused'> {
  const clock = new TestClock(START + 10_000);
  const storage = new FileStorage({ dir, fsync: 'never', clock, repair: random() < 0.2 ? 'truncate' : undefined });
  storage.on('error', () => undefined);
  try {
    await withTimeout(storage.open(), 'open');
  } catch (error) {
    await storage.close().catch(() => undefined);
    if (error instanceof CorruptLogError) return 'refused';
    throw error;
  }
  try {
    await withTimeout(
      (async () => {
        // Every replayed message goes through a claim and a write that logs it again.
        for (const queue of QUEUES) {
          const { delivered } = await storage.claim(queue, { max: 50, leaseMs: 30_000, maxAttempts: 2, deadLetter: deadLetterOf(queue) }, START + 1e9);
          for (const [i, d] of delivered.entries()) {
            if (i % 3 === 0) await storage.ack(queue, [d.receipt], START + 1e9);
            else if (i % 3 === 1) await storage.release(queue, d.receipt, START + 1e9 + 5_000, START + 1e9);
            else await storage.deadLetter(queue, d.receipt, deadLetterOf(queue), { reason: 'fuzz', error: undefined }, START + 1e9);
          }
        }
        await use(storage, random, START + 2e9, 3);
        await storage.compact();
        await use(storage, random, START + 3e9, 2);
        await storage.close();
      })(),
      'writes after open',
    );
  } catch (error) {
    await storage.close().catch(() => undefined);
    throw new Error(`a write after a successful open failed: ${(error as Error).stack ?? String(error)}`);
  }
  const again = new FileStorage({ dir, fsync: 'never', clock });
  try {
    await withTimeout(again.open(), 'reopen');
    for (const queue of QUEUES) await again.stats(queue, START + 4e9);
  } catch (error) {
    throw new Error(`the reopen after a successful open failed: ${(error as Error).stack ?? String(error)}`);
  } finally {
    await again.close().catch(() => undefined);
  }
  return 'opened';
}

/** Runs inputs `start` to `start + runs - 1` of `seed`. */
export async function fuzzLogs(options: { runs: number; seed: number; start?: number; progress?: (report: FuzzReport) => void }): Promise<FuzzReport> {
  const started = performance.now();
  const base = process.platform === 'linux' ? '/dev/shm' : tmpdir();
  const root = mkdtempSync(join(base, 'pocketmq-fuzz-'));
  const report: FuzzReport = { inputs: 0, opened: 0, refused: 0, failures: [], ms: 0 };
  try {
    const images = await corpus(options.seed, root);
    const start = options.start ?? 0;
    for (let input = start; input < start + options.runs; input++) {
      const random = rng(Math.imul(options.seed, 0x85ebca6b) ^ Math.imul(input + 1, 0xc2b2ae35));
      const { image, mutation } = mutate(random, pick(random, images));
      const dir = join(root, `input-${input}`);
      mkdirSync(dir);
      writeDir(dir, image);
      try {
        report[await check(dir, random)]++;
        rmSync(dir, { recursive: true, force: true });
      } catch (error) {
        const kept = join(tmpdir(), `pocketmq-fuzz-failure-${options.seed}-${input}`);
        rmSync(kept, { recursive: true, force: true });
        mkdirSync(kept);
        writeDir(kept, image);
        report.failures.push({ input, mutation, error: (error as Error).message ?? String(error), dir: kept });
      }
      report.inputs++;
      if (options.progress && report.inputs % 10_000 === 0) options.progress({ ...report, ms: performance.now() - started });
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  report.ms = performance.now() - started;
  return report;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '100000' },
      seed: { type: 'string' },
      start: { type: 'string', default: '0' },
    },
    strict: true,
  });
  const runs = Number(values.runs);
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  const start = Number(values.start);
  if (!Number.isSafeInteger(runs) || runs < 1) throw new RangeError(`Expected \`--runs\` to be an integer >= 1, got ${values.runs}`);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`Expected \`--seed\` to be an integer, got ${values.seed}`);
  if (!Number.isSafeInteger(start) || start < 0) throw new RangeError(`Expected \`--start\` to be an integer >= 0, got ${values.start}`);
  console.log(`fuzz-log: ${runs} inputs from ${start}, seed ${seed}`);
  const report = await fuzzLogs({
    runs,
    seed,
    start,
    progress: (r) => console.log(`  ${r.inputs} inputs: ${r.opened} opened, ${r.refused} refused (CorruptLogError), ${r.failures.length} failures, ${(r.ms / 1000).toFixed(0)} s`),
  });
  for (const f of report.failures) {
    console.error(`FAILURE input ${f.input} (${f.mutation}): ${f.error}\n  reproduce: npm run fuzz -- --seed ${seed} --start ${f.input} --runs 1\n  log kept in ${f.dir}`);
  }
  console.log(`fuzz-log: ${report.inputs} inputs in ${(report.ms / 1000).toFixed(1)} s: ${report.opened} opened and reopened after writes, ${report.refused} refused with CorruptLogError, ${report.failures.length} failures (seed ${seed})`);
  process.exitCode = report.failures.length > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 2;
  });
}
