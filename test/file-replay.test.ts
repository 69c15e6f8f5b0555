import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CorruptLogError } from '../src/errors.js';
import { encodeFrame } from '../src/file/frame.js';
import { FileStorage } from '../src/file/file-storage.js';
import type { EnqueuePolicy, NewMessage, StorageSignal, StoredMessage } from '../src/storage/storage.js';
import { TestClock } from '../src/test-clock.js';
import { newMessage } from './helpers/new-message.js';

const START = 1_700_000_000_000;
const POLICY: EnqueuePolicy = { maxLength: undefined, overflow: 'reject', deadLetter: 'jobs.dlq', dedupeWindow: 60_000 };
const CLAIM = { max: 100, leaseMs: 30_000, maxAttempts: 1, deadLetter: 'jobs.dlq' as const };

/** Bodies of every JSON kind, with characters that close strings, arrays and records inside them. */
const BODIES: readonly unknown[] = [
  'plain',
  'quote " backslash \\ bracket ] brace } comma , "null"',
  'null',
  '',
  '\u0000\u001f\u2028 ü 😀',
  0,
  -12.5,
  1e21,
  Number.MAX_SAFE_INTEGER,
  true,
  false,
  null,
  [],
  {},
  ['a]', '{b', [['"']], { c: '],[0,"jobs"' }],
  { __proto__: { polluted: true }, nested: { deeper: [1, 2, { x: '\\"' }] } },
  undefined,
];

function message(id: string, body: unknown, fields: Partial<NewMessage> = {}): NewMessage {
  return newMessage(id, START, { body, ...fields });
}

const dirs: string[] = [];
const open: FileStorage[] = [];

function storageAt(dir: string, clock: TestClock, repair?: 'truncate'): FileStorage {
  const storage = new FileStorage(repair ? { dir, clock, repair } : { dir, clock });
  open.push(storage);
  return storage;
}

function fresh(clock: TestClock): FileStorage {
  const dir = mkdtempSync(join(tmpdir(), 'pocketmq-replay-'));
  dirs.push(dir);
  return storageAt(dir, clock);
}

async function reopen(storage: FileStorage, clock: TestClock): Promise<FileStorage> {
  await storage.close();
  return storageAt(storage.dir, clock);
}

afterEach(async () => {
  for (const storage of open.splice(0)) await storage.close().catch(() => undefined);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const bodies = (messages: readonly StoredMessage[]) => messages.map((m) => m.body);
const expected = () => BODIES.map((body) => (body === undefined ? undefined : JSON.parse(JSON.stringify(body))));

describe('FileStorage: bodies replayed on open', () => {
  it('.peek() - every kind of JSON body comes back decoded after reopen, with odd ids and queue names', async () => {
    const clock = new TestClock(START);
    const storage = fresh(clock);
    const queue = 'q "quoted" \\ ü';
    await storage.enqueue(queue, BODIES.map((body, i) => message(`id-${i} "\\`, body)), POLICY, START);
    const again = await reopen(storage, clock);
    const peeked = await again.peek(queue, 100, START);
    expect(peeked.map((m) => m.id)).toEqual(BODIES.map((_, i) => `id-${i} "\\`));
    expect(bodies(peeked)).toEqual(expected());
    expect(Object.getPrototypeOf(peeked[15]!.body)).toBe(Object.prototype);
  });

  it('.claim() - delivers decoded bodies, the same value as a later peek', async () => {
    const clock = new TestClock(START);
    const storage = fresh(clock);
    await storage.enqueue('jobs', BODIES.map((body, i) => message(`m${i}`, body)), POLICY, START);
    const again = await reopen(storage, clock);
    const { delivered } = await again.claim('jobs', { ...CLAIM, maxAttempts: 5 }, START);
    expect(delivered.map((d) => d.message.body)).toEqual(expected());
    await again.release('jobs', delivered[14]!.receipt, START, START);
    const [peeked] = await again.peek('jobs', 1, START);
    expect(peeked!.body).toBe(delivered[14]!.message.body);
  });

  it('.claim() - a replayed message dead-lettered after reopen keeps its body in the DLQ, across compaction and another reopen', async () => {
    const clock = new TestClock(START);
    const storage = fresh(clock);
    await storage.enqueue('jobs', BODIES.map((body, i) => message(`m${i}`, body)), POLICY, START);
    await storage.claim('jobs', CLAIM, START);
    const again = await reopen(storage, clock);
    const { delivered, deadLettered } = await again.claim('jobs', CLAIM, START);
    expect(delivered).toEqual([]);
    expect(deadLettered.map((d) => d.message.body)).toEqual(expected());
    await again.compact();
    const third = await reopen(again, clock);
    expect(bodies(await third.peek('jobs.dlq', 100, START))).toEqual(expected());
  });

  it('.compact() - bodies of messages replayed on open are written back unchanged', async () => {
    const clock = new TestClock(START);
    const storage = fresh(clock);
    await storage.enqueue('jobs', BODIES.map((body, i) => message(`m${i}`, body)), POLICY, START);
    const again = await reopen(storage, clock);
    await again.compact();
    const third = await reopen(again, clock);
    expect(bodies(await third.peek('jobs', 100, START))).toEqual(expected());
  });

  it('watch() - an expired signal after reopen carries decoded bodies', async () => {
    const clock = new TestClock(START);
    const storage = fresh(clock);
    await storage.enqueue('jobs', [message('a', { n: [1] }, { expiresAt: START + 10 })], POLICY, START);
    const again = await reopen(storage, clock);
    const signals: StorageSignal[] = [];
    again.watch((signal) => signals.push(signal));
    await again.tick(START + 10);
    const expired = signals.find((signal) => signal.type === 'expired');
    expect(expired).toMatchObject({ type: 'expired', queue: 'jobs', messages: [{ id: 'a', body: { n: [1] } }] });
  });

  it(".enqueue() - a replayed message dropped by overflow: 'drop-oldest' is reported with its decoded body", async () => {
    const clock = new TestClock(START);
    const storage = fresh(clock);
    await storage.enqueue('jobs', [message('old', { n: 'old' })], POLICY, START);
    const again = await reopen(storage, clock);
    const result = await again.enqueue('jobs', [message('new', { n: 'new' })], { ...POLICY, maxLength: 1, overflow: 'drop-oldest' }, START);
    expect(result.dropped.map((d) => [d.message.id, d.message.body])).toEqual([['old', { n: 'old' }]]);
  });
});

describe('FileStorage: a checksummed batch that is not a batch', () => {
  /** A log holding one good message, then a frame whose checksum passes but whose second record is garbage. */
  async function logWithBadBatch(clock: TestClock): Promise<string> {
    const storage = fresh(clock);
    await storage.enqueue('jobs', [message('good', 1)], POLICY, START);
    await storage.close();
    const bad = `[9,[0,"jobs","half",0,${START},${START},null,null,null,null,null,null,null,0,2],[99]]`;
    appendFileSync(join(storage.dir, 'log-00000001.pmq'), encodeFrame(bad));
    return storage.dir;
  }

  it('.open() - rejects with CorruptLogError', async () => {
    const clock = new TestClock(START);
    const dir = await logWithBadBatch(clock);
    await expect(storageAt(dir, clock).open()).rejects.toBeInstanceOf(CorruptLogError);
  });

  it(".open() - with repair: 'truncate' applies none of the bad batch, not even its good first record", async () => {
    const clock = new TestClock(START);
    const dir = await logWithBadBatch(clock);
    const repaired = storageAt(dir, clock, 'truncate');
    const recovered: unknown[] = [];
    repaired.on('recovered', (info) => recovered.push(info));
    await repaired.open();
    expect((await repaired.peek('jobs', 10, START)).map((m) => [m.id, m.body])).toEqual([['good', 1]]);
    expect(recovered).toMatchObject([{ kind: 'repair', batchesDiscarded: 1 }]);
  });
});
