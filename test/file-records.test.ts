/**
 * The file log's records: the writer never writes a record that replay refuses, and
 * replay checks the type and range of every field of a record whose checksum passes,
 * refusing a bad one as corruption (CorruptLogError at its offset), never as data.
 */
import { appendFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CorruptLogError, PocketMQError } from '../src/errors.js';
import { Queue } from '../src/queue.js';
import { encodeFrame } from '../src/file/frame.js';
import { FileStorage } from '../src/file/file-storage.js';
import type { EnqueuePolicy } from '../src/storage/storage.js';
import { TestClock } from '../src/test-clock.js';
import { newMessage } from './helpers/new-message.js';

const START = 1_700_000_000_000;
const POLICY: EnqueuePolicy = { maxLength: undefined, overflow: 'reject', deadLetter: 'jobs.dlq', dedupeWindow: 60_000 };
/** A SCHEDULE record's policy field as the writer writes it. */
const SCHEDULE_POLICY = '{"maxLength":null,"overflow":"reject","deadLetter":"jobs.dlq","dedupeWindow":0}';
const CLAIM = { max: 10, leaseMs: 30_000, maxAttempts: 10, deadLetter: 'jobs.dlq' as const };

const dirs: string[] = [];
const open: FileStorage[] = [];

function storageAt(dir: string, clock: TestClock, repair?: 'truncate'): FileStorage {
  const storage = new FileStorage(repair ? { dir, clock, repair } : { dir, clock });
  open.push(storage);
  return storage;
}

function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pocketmq-records-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close().catch(() => undefined)));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('FileStorage: the writer never writes what replay refuses', () => {
  it('issue 18 repro - a NaN retry delay is never logged: an ack that resolved true stays acked after reopen', async () => {
    const clock = new TestClock(START);
    const dir = freshDir();
    const storage = storageAt(dir, clock);
    // 0 × 1e308² is NaN: the third retry delay used to be logged as NaN.
    const jobs = new Queue<string>('jobs', { storage, maxAttempts: 10, backoff: { initial: 0, factor: 1e308 } });
    await jobs.send('A');
    for (let i = 0; i < 2; i++) {
      const [a] = await jobs.receive({ max: 1, wait: 0 });
      expect(await a!.nack()).toBe(true);
    }
    await jobs.send('B');
    const both = await jobs.receive({ max: 2, wait: 0 });
    const a = both.find((m) => m.body === 'A')!;
    const b = both.find((m) => m.body === 'B')!;
    expect(a.attempt).toBe(3);
    expect(await Promise.all([a.nack(), b.ack()])).toEqual([true, true]);
    await storage.close();

    const again = storageAt(dir, clock);
    await again.open();
    const after = new Queue<string>('jobs', { storage: again, maxAttempts: 10 });
    expect((await after.receive({ max: 10, wait: 0 })).map((m) => m.body)).toEqual(['A']);
  });

  it('.release() - a due time that is not a finite number rejects that operation only, naming `dueAt`, and writes nothing', async () => {
    const clock = new TestClock(START);
    const dir = freshDir();
    const storage = storageAt(dir, clock);
    await storage.enqueue('jobs', [newMessage('m1', START)], POLICY, START);
    const { delivered } = await storage.claim('jobs', CLAIM, START);
    const receipt = delivered[0]!.receipt;
    for (const dueAt of [Number.NaN, Infinity, -Infinity]) {
      await expect(storage.release('jobs', receipt, dueAt, START)).rejects.toThrow(/`dueAt`/);
    }
    // The storage goes on: the same receipt still releases.
    expect(await storage.release('jobs', receipt, START + 5, START)).toBe('ok');
    await storage.close();
    const again = storageAt(dir, clock);
    expect(await again.stats('jobs', START)).toMatchObject({ ready: 0, delayed: 1, inflight: 0 });
    expect((await again.claim('jobs', CLAIM, START + 5)).delivered.map((d) => [d.message.id, d.message.attempt])).toEqual([['m1', 2]]);
  });

  it('.enqueue() - a message with a field replay would refuse stops the storage with ERR_STORAGE_FAILED; what resolved before reopens', async () => {
    const clock = new TestClock(START);
    const dir = freshDir();
    const first = storageAt(dir, clock);
    await first.enqueue('jobs', [newMessage('kept', START)], POLICY, START);
    await first.close();
    const bad = [newMessage('nan', Number.NaN), newMessage('huge', START, { priority: 2 ** 60 })];
    for (const message of bad) {
      const storage = storageAt(dir, clock);
      const errors: Error[] = [];
      storage.on('error', (error) => errors.push(error));
      const error = await storage.enqueue('jobs', [message], POLICY, START).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PocketMQError);
      expect((error as PocketMQError).code).toBe('ERR_STORAGE_FAILED');
      expect((error as Error).message).toMatch(/`(enqueuedAt|priority)`/);
      expect(errors).toEqual([error]);
      await storage.close();
      const again = storageAt(dir, clock);
      expect((await again.peek('jobs', 10, START)).map((m) => m.id)).toEqual(['kept']);
      await again.close();
    }
  });
});

describe('FileStorage: replay checks every field of a record whose checksum passes', () => {
  const put = (fields: Partial<Record<number, string>>): string => {
    const base = ['0', '"jobs"', '"x"', '0', `${START}`, `${START}`, 'null', 'null', 'null', 'null', 'null', 'null', 'null', '0', '{"b":1}'];
    for (const [i, text] of Object.entries(fields)) base[Number(i)] = text!;
    return `[${base.join(',')}]`;
  };
  /** [what is wrong, the batch payload, the field the error names]. */
  const cases: [string, string, string][] = [
    ['a PUT whose priority is an object', `[9,${put({ 3: '{"x":1}' })}]`, 'priority'],
    ['a PUT whose priority is not an integer', `[9,${put({ 3: '1.5' })}]`, 'priority'],
    ['a PUT whose priority is not a safe integer', `[9,${put({ 3: '1152921504606846976' })}]`, 'priority'],
    ['a PUT whose id is a number', `[9,${put({ 2: '5' })}]`, 'id'],
    ['a PUT whose id is empty', `[9,${put({ 2: '""' })}]`, 'id'],
    ['a PUT whose queue is null', `[9,${put({ 1: 'null' })}]`, 'queue'],
    ['a PUT whose enqueuedAt is a string', `[9,${put({ 4: '"now"' })}]`, 'enqueuedAt'],
    ['a PUT whose availableAt overflows to Infinity', `[9,${put({ 5: '1e400' })}]`, 'availableAt'],
    ['a PUT whose expiresAt is true', `[9,${put({ 6: 'true' })}]`, 'expiresAt'],
    ['a PUT whose dedupeUntil has no dedupeId', `[9,${put({ 8: `${START}` })}]`, 'dedupeId'],
    ['a PUT whose group is a number', `[9,${put({ 9: '7' })}]`, 'group'],
    ['a PUT whose headers hold a number', `[9,${put({ 12: '{"a":1}' })}]`, 'headers'],
    ['a PUT whose headers are an array', `[9,${put({ 12: '["a"]' })}]`, 'headers'],
    ['a PUT whose attempt is negative', `[9,${put({ 13: '-1' })}]`, 'attempt'],
    ['a PUT with an element too many', `[9,${put({}).slice(0, -1)},1]]`, '16 elements'],
    ['a CLAIM whose attempt is a string', '[9,[1,"jobs","x","1"]]', 'attempt'],
    ['a RELEASE whose due time is null', '[9,[2,"jobs","x",null]]', 'availableAt'],
    ['a REMOVE of an unknown kind', '[9,[3,"jobs","x",7]]', 'kind'],
    ['a META whose key is a number', '[9,[4,1,"v"]]', 'key'],
    ['a COUNTERS record with a negative count', '[9,[5,"jobs",-1,0,0,0,0,0]]', 'sent'],
    ['a DEDUPE whose until is a string', '[9,[6,"jobs","d","x","soon"]]', 'until'],
    ['a SCHEDULE whose next is a string', `[9,[8,"jobs","s",1000,null,null,"soon",null,0,{},${SCHEDULE_POLICY}]]`, 'next'],
    ['a SCHEDULE with both every and cron', `[9,[8,"jobs","s",1000,"* * * * *","UTC",${START},null,0,{},${SCHEDULE_POLICY}]]`, 'exactly one of'],
    ['a SCHEDULE whose policy overflows nowhere', `[9,[8,"jobs","s",1000,null,null,${START},null,0,{},{"maxLength":null,"overflow":"spill","deadLetter":false,"dedupeWindow":0}]]`, 'policy'],
    ['an UNSCHEDULE without its id', '[9,[9,"jobs"]]', '2 elements'],
    ['a SEALED_PUT without its body', '[9,[10,"jobs","x",0,1000,1000,null,null,null,null,null,null,null,0]]', '14 elements'],
    ['a SEALED_PUT whose body is not a string', '[9,[10,"jobs","x",0,1000,1000,null,null,null,null,null,null,null,0,{"a":1}]]', 'not a non-empty string'],
    ['a record of a type that does not exist', '[9,[12,"jobs"]]', 'unknown type'],
    ['a batch whose lease-token count is fractional', '[1.5]', 'lease-token count'],
  ];

  it.each(cases)('.open() - rejects %s with CorruptLogError at its offset', async (_label, payload, field) => {
    const clock = new TestClock(START);
    const dir = freshDir();
    const storage = storageAt(dir, clock);
    await storage.enqueue('jobs', [newMessage('good', START)], POLICY, START);
    await storage.close();
    const log = join(dir, 'log-00000001.pmq');
    const offset = statSync(log).size;
    appendFileSync(log, encodeFrame(payload));

    const error = await storageAt(dir, clock).open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptLogError);
    expect((error as CorruptLogError).offset).toBe(offset);
    expect((error as CorruptLogError).message).toContain(field);
    // The last batch: the message must not claim good batches follow it.
    expect((error as CorruptLogError).message).not.toContain('followed by');
  });

  it(".open() - with repair: 'truncate' cuts a bad record's batch and keeps the good ones before it", async () => {
    const clock = new TestClock(START);
    const dir = freshDir();
    const storage = storageAt(dir, clock);
    await storage.enqueue('jobs', [newMessage('good', START)], POLICY, START);
    await storage.close();
    appendFileSync(join(dir, 'log-00000001.pmq'), encodeFrame(`[9,${put({ 2: '"bad"', 3: '{"x":1}' })}]`));
    const repaired = storageAt(dir, clock, 'truncate');
    const recovered: unknown[] = [];
    repaired.on('recovered', (info) => recovered.push(info));
    expect((await repaired.peek('jobs', 10, START)).map((m) => m.id)).toEqual(['good']);
    expect(recovered).toMatchObject([{ kind: 'repair', batchesDiscarded: 1 }]);
  });

  it('.open() - a bad batch followed by good ones says how many follow', async () => {
    const clock = new TestClock(START);
    const dir = freshDir();
    const storage = storageAt(dir, clock);
    await storage.enqueue('jobs', [newMessage('good', START)], POLICY, START);
    await storage.close();
    appendFileSync(join(dir, 'log-00000001.pmq'), Buffer.concat([encodeFrame(`[9,${put({ 3: '"high"' })}]`), encodeFrame('[9]'), encodeFrame('[9]')]));
    const error = await storageAt(dir, clock).open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptLogError);
    expect((error as Error).message).toContain('priority');
    expect((error as Error).message).toContain('2 good ones follow it');
  });
});
