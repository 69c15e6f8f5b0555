/**
 * The log's recovery rules, proven on real files: a torn or garbage tail after the
 * last complete batch is cut and reported, damage before it fails open with
 * CorruptLogError (or is cut with repair: 'truncate'), and no damaged byte is ever
 * replayed as data.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorruptLogError } from '../src/errors.js';
import { FileStorage } from '../src/file/file-storage.js';
import { dataEnd } from '../src/file/frame-scan.js';
import type { RecoveryInfo } from '../src/file/recovery.js';
import type { EnqueuePolicy, NewMessage } from '../src/storage/storage.js';
import { TestClock } from '../src/test-clock.js';

const START = 1_700_000_000_000;
const POLICY: EnqueuePolicy = { maxLength: undefined, overflow: 'reject', deadLetter: 'jobs.dlq', dedupeWindow: 0 };
const CLAIM = { max: 1, leaseMs: 30_000, maxAttempts: 5, deadLetter: 'jobs.dlq' as const };
const SEGMENT = 'log-00000001.pmq';

function message(id: string): NewMessage {
  return {
    id,
    body: { id, text: 'payload' },
    headers: undefined,
    priority: 0,
    enqueuedAt: START,
    availableAt: START,
    expiresAt: undefined,
    dedupeId: undefined,
    group: undefined,
    correlationId: undefined,
    subject: undefined,
  };
}

// tmpfs when there is one: thousands of opens below, and fsync there costs nothing.
const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'pocketmq-log-'));
let seq = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Everything replay rebuilds, as plain data: the messages (with attempts) and the counters. */
async function stateOf(storage: FileStorage): Promise<unknown> {
  const stats = await storage.stats('jobs', START);
  const messages = (await storage.peek('jobs', 100, START)).map((m) => `${m.id}@${m.attempt}`);
  return { messages, stats };
}

interface Opened {
  state?: unknown;
  error?: unknown;
  recovered: RecoveryInfo[];
  /** The segment's length in bytes once the storage closed. */
  length?: number;
}

/** Opens a copy of `source` whose segment holds `bytes`, reads its state, closes it. */
async function openWith(source: string, bytes: Buffer, options: { repair?: 'truncate' } = {}): Promise<Opened> {
  const dir = join(root, `case-${++seq}`);
  cpSync(source, dir, { recursive: true });
  writeFileSync(join(dir, SEGMENT), bytes);
  const storage = new FileStorage({ dir, clock: new TestClock(START), fsync: 'never', ...options });
  const recovered: RecoveryInfo[] = [];
  storage.on('recovered', (info) => recovered.push(info));
  const result: Opened = { recovered };
  try {
    await storage.open();
    result.state = await stateOf(storage);
  } catch (error) {
    result.error = error;
  }
  await storage.close().catch(() => undefined);
  result.length = statSync(join(dir, SEGMENT), { throwIfNoEntry: false })?.size;
  rmSync(dir, { recursive: true, force: true });
  return result;
}

/** A log of four batches; `ends[k]` is the segment size after batch k (ends[0]: the header), `states[k]` the state then. */
let source: string;
let log: Buffer;
const ends: number[] = [];
const states: unknown[] = [];

beforeAll(async () => {
  source = join(root, 'source');
  const storage = new FileStorage({ dir: source, clock: new TestClock(START), fsync: 'never' });
  const size = () => statSync(join(source, SEGMENT)).size;
  const record = async () => {
    ends.push(size());
  };
  await storage.open();
  await record();
  await storage.enqueue('jobs', [message('a'), message('b')], POLICY, START);
  await record();
  const { delivered } = await storage.claim('jobs', CLAIM, START);
  await record();
  await storage.ack('jobs', [delivered[0]!.receipt], START);
  await record();
  await storage.enqueue('jobs', [message('c')], POLICY, START);
  await record();
  await storage.close();
  log = readFileSync(join(source, SEGMENT));
  // The lock of the closed storage is gone; copies of `source` hold the segment only.
  expect(readdirSync(source)).toEqual([SEGMENT]);
  // What a restarted process sees after each batch (messages in flight are ready again).
  for (const end of ends) states.push((await openWith(source, log.subarray(0, end))).state);
  expect(new Set(states.map((s) => JSON.stringify(s))).size).toBe(states.length);
});

/** The last batch boundary at or before `offset`. */
function batchesBefore(offset: number): number {
  let k = 0;
  while (k + 1 < ends.length && ends[k + 1]! <= offset) k++;
  return k;
}

describe('FileStorage log: torn tails', () => {
  it('a log cut at every byte offset across the last two batches reopens with the complete batches and nothing else', async () => {
    const from = ends[ends.length - 3]!;
    for (let cut = from; cut <= log.length; cut++) {
      const opened = await openWith(source, log.subarray(0, cut));
      const k = batchesBefore(cut);
      expect(opened.error).toBeUndefined();
      expect(opened.state).toEqual(states[k]);
      if (cut === ends[k]) {
        expect(opened.recovered).toEqual([]);
      } else {
        // Zero bytes the cut batch ends with are not counted: they read as room made ahead (below).
        const discarded = dataEnd(log.subarray(0, cut)) - ends[k]!;
        expect(discarded).toBeGreaterThan(0);
        expect(opened.recovered).toEqual([{ file: expect.stringContaining(SEGMENT), offset: ends[k], bytesDiscarded: discarded, batchesDiscarded: 1, kind: 'tail' }]);
      }
    }
  });

  it('a log cut inside its file header reopens empty', async () => {
    for (let cut = 0; cut < ends[0]!; cut++) {
      const opened = await openWith(source, log.subarray(0, cut));
      expect(opened.error).toBeUndefined();
      expect(opened.state).toEqual(states[0]);
    }
  });

  it("a tail of zeros is room the writer made ahead (fsync: 'always'): cut without a report", async () => {
    for (const length of [1, 11, 12, 13, 4096, 1024 * 1024]) {
      const opened = await openWith(source, Buffer.concat([log, Buffer.alloc(length)]));
      expect(opened.state).toEqual(states[states.length - 1]);
      expect(opened.recovered).toEqual([]);
      expect(opened.length).toBe(log.length);
    }
  });

  it('a torn batch followed by zeros is cut and reported with the bytes before the zeros', async () => {
    const torn = Buffer.concat([log.subarray(0, ends[ends.length - 2]! + 20), Buffer.alloc(4096)]);
    const opened = await openWith(source, torn);
    expect(opened.state).toEqual(states[states.length - 2]);
    expect(opened.recovered).toMatchObject([{ offset: ends[ends.length - 2], bytesDiscarded: 20, kind: 'tail' }]);
    expect(opened.length).toBe(ends[ends.length - 2]);
  });

  it('a tail of garbage is cut and reported, also where it overwrites the last batch', async () => {
    let seed = 42;
    const random = (n: number) => Buffer.from(Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 0xff));
    for (const length of [1, 7, 100, 5000]) {
      const garbage = random(length);
      const appended = await openWith(source, Buffer.concat([log, garbage]));
      expect(appended.state).toEqual(states[states.length - 1]);
      // Zeros that end the garbage are not counted (see the tail of zeros above).
      expect(appended.recovered).toMatchObject([{ offset: log.length, bytesDiscarded: dataEnd(garbage) }]);
      const over = Buffer.concat([log.subarray(0, ends[ends.length - 2]! + 5), random(length)]);
      const overwritten = await openWith(source, over);
      expect(overwritten.state).toEqual(states[states.length - 2]);
    }
  });

  it('a tail holding a copy of an earlier batch header (magic and length) but a wrong checksum is cut', async () => {
    const last = ends.length - 1;
    const header = log.subarray(ends[last - 1]!, ends[last - 1]! + 8);
    const opened = await openWith(source, Buffer.concat([log, header, Buffer.alloc(40, 1)]));
    expect(opened.state).toEqual(states[last]);
    expect(opened.recovered).toHaveLength(1);
  });
});

describe('FileStorage log: damage before the tail', () => {
  it('a single bit flipped anywhere is never replayed as data', async () => {
    let corrupt = 0;
    let cut = 0;
    for (let byte = 0; byte < log.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const flipped = Buffer.from(log);
        flipped[byte]! ^= 1 << bit;
        const opened = await openWith(source, flipped);
        if (opened.error !== undefined) {
          expect(opened.error).toBeInstanceOf(CorruptLogError);
          corrupt++;
          continue;
        }
        // Only a flip in the last batch may open: as a torn tail, with the batches before it.
        const k = batchesBefore(byte);
        expect(k).toBe(ends.length - 2);
        expect(opened.state).toEqual(states[k]);
        expect(opened.recovered).toMatchObject([{ offset: ends[k], kind: 'tail' }]);
        cut++;
      }
    }
    expect(corrupt + cut).toBe(log.length * 8);
    expect(cut).toBe((log.length - ends[ends.length - 2]!) * 8);
  });

  it('.open() - rejects damage followed by good batches with CorruptLogError naming the file and offset', async () => {
    const damaged = Buffer.from(log);
    damaged[ends[1]! + 20]! ^= 0xff;
    const opened = await openWith(source, damaged);
    expect(opened.error).toBeInstanceOf(CorruptLogError);
    expect(opened.error).toMatchObject({ code: 'ERR_CORRUPT_LOG', offset: ends[1], file: expect.stringContaining(SEGMENT) });
    expect((opened.error as Error).message).toMatch(/repair: 'truncate'/);
  });

  it("repair: 'truncate' cuts at the damage, reports what it discarded, and the next open is clean", async () => {
    const dir = join(root, 'repair');
    cpSync(source, dir, { recursive: true });
    const damaged = Buffer.from(log);
    damaged[ends[1]! + 20]! ^= 0xff;
    writeFileSync(join(dir, SEGMENT), damaged);
    const storage = new FileStorage({ dir, clock: new TestClock(START), repair: 'truncate' });
    const recovered: RecoveryInfo[] = [];
    storage.on('recovered', (info) => recovered.push(info));
    await storage.open();
    expect(await stateOf(storage)).toEqual(states[1]);
    expect(recovered).toEqual([{ file: join(dir, SEGMENT), offset: ends[1], bytesDiscarded: log.length - ends[1]!, batchesDiscarded: ends.length - 2, kind: 'repair' }]);
    await storage.close();
    const again = new FileStorage({ dir, clock: new TestClock(START) });
    again.on('recovered', (info) => recovered.push(info));
    expect(await stateOf(again)).toEqual(states[1]);
    expect(recovered).toHaveLength(1);
    await again.close();
  });

  it('a damaged snapshot fails open, and with repair keeps what came before the damage', async () => {
    const dir = join(root, 'snapshot');
    const storage = new FileStorage({ dir, clock: new TestClock(START) });
    await storage.enqueue('jobs', [message('a'), message('b')], POLICY, START);
    await storage.compact();
    await storage.enqueue('jobs', [message('c')], POLICY, START);
    await storage.close();
    const snapshot = join(dir, 'snapshot-00000002.pmq');
    const bytes = readFileSync(snapshot);
    bytes[bytes.length - 3]! ^= 0x01;
    writeFileSync(snapshot, bytes);
    await expect(new FileStorage({ dir, clock: new TestClock(START) }).open()).rejects.toMatchObject({ code: 'ERR_CORRUPT_LOG', file: snapshot });
    const repaired = new FileStorage({ dir, clock: new TestClock(START), repair: 'truncate' });
    const recovered: RecoveryInfo[] = [];
    repaired.on('recovered', (info) => recovered.push(info));
    await repaired.open();
    expect(recovered).toMatchObject([{ file: snapshot, kind: 'repair' }]);
    // The one snapshot frame held everything, so nothing of it is kept, nor the segment after it.
    expect(await stateOf(repaired)).toMatchObject({ messages: [] });
    await repaired.close();
    const again = new FileStorage({ dir, clock: new TestClock(START) });
    await again.open();
    await again.close();
  });

  it('a missing segment between two others fails open', async () => {
    const dir = join(root, 'gap');
    const storage = new FileStorage({ dir, clock: new TestClock(START), segmentSize: 4096 });
    for (let i = 0; i < 100; i++) await storage.enqueue('jobs', [message(`m${i}`)], POLICY, START);
    await storage.close();
    const segments = readdirSync(dir).filter((f) => f.startsWith('log-')).sort();
    expect(segments.length).toBeGreaterThanOrEqual(3);
    rmSync(join(dir, segments[1]!));
    await expect(new FileStorage({ dir, clock: new TestClock(START) }).open()).rejects.toBeInstanceOf(CorruptLogError);
  });
});
