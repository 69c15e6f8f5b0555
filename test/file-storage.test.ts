import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TimerHandle } from '../src/clock.js';
import { ClosedError } from '../src/errors.js';
import { Queue } from '../src/queue.js';
import { nodeIo, type FileIo } from '../src/file/file-io.js';
import { FileStorage, withFileIo } from '../src/file/file-storage.js';
import { encodeFrame } from '../src/file/frame.js';
import type { EnqueuePolicy } from '../src/storage/storage.js';
import { TestClock } from '../src/test-clock.js';
import { describeStorage } from './storage-contract.js';
import { newMessage } from './helpers/new-message.js';

describeStorage('FileStorage', async (clock) => {
  const dir = mkdtempSync(join(tmpdir(), 'pocketmq-contract-'));
  return { storage: new FileStorage({ dir, clock }), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

const START = 1_700_000_000_000;
const POLICY: EnqueuePolicy = { maxLength: undefined, overflow: 'reject', deadLetter: 'jobs.dlq', dedupeWindow: 60_000 };
const CLAIM = { max: 10, leaseMs: 30_000, maxAttempts: 3, deadLetter: 'jobs.dlq' as const };

const message = newMessage;

const dirs: string[] = [];
const open: FileStorage[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pocketmq-file-'));
  dirs.push(dir);
  return dir;
}

function storageAt(dir: string, clock: TestClock, options: { segmentSize?: number } = {}): FileStorage {
  const storage = new FileStorage({ dir, clock, ...options });
  open.push(storage);
  return storage;
}

afterEach(async () => {
  for (const storage of open.splice(0)) await storage.close().catch(() => undefined);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Closes `storage` and opens the same directory again, as a restarted process would. */
async function reopen(storage: FileStorage, clock: TestClock, options: { segmentSize?: number } = {}): Promise<FileStorage> {
  await storage.close();
  return storageAt(storage.dir, clock, options);
}

describe('FileStorage: replay after reopen', () => {
  it('.enqueue() - every field of a stored message comes back', async () => {
    const clock = new TestClock(START);
    const storage = storageAt(tempDir(), clock);
    const full = message('a', START, {
      body: { nested: [1, 'two', null], text: 'ü\n"' },
      headers: { type: 'order', __proto__: 'header' } as Record<string, string>,
      priority: 7,
      expiresAt: START + 3_600_000,
      dedupeId: 'd-1',
      group: 'g',
      correlationId: 'c',
      subject: 'order.placed',
    });
    await storage.enqueue('jobs', [full, message('b', START, { body: undefined })], POLICY, START);
    const again = await reopen(storage, clock);
    const [a, b] = await again.peek('jobs', 10, START);
    const fields = Object.fromEntries(Object.keys(full).map((key) => [key, (a as unknown as Record<string, unknown>)[key]]));
    expect(fields).toEqual(full);
    expect(a!.attempt).toBe(0);
    expect(b!.body).toBeUndefined();
    expect(Object.getPrototypeOf(a!.headers)).toBe(Object.prototype);
  });

  it('.redrive() and .remove() - what they moved and removed stays so after reopen, counters included', async () => {
    const clock = new TestClock(START);
    const storage = storageAt(tempDir(), clock);
    const dead = (id: string) => message(id, START, { headers: { k: 'v', 'x-original-queue': 'jobs', 'x-dead-reason': 'max-attempts' }, group: 'g' });
    await storage.enqueue('jobs.dlq', [dead('a'), dead('b'), dead('c'), message('plain', START)], { ...POLICY, deadLetter: false }, START);
    expect(await storage.remove('jobs.dlq', 'c', START)).toBe(true);
    expect(await storage.redrive('jobs.dlq', { max: 10, to: undefined }, START)).toBe(2);
    const again = await reopen(storage, clock);
    const moved = await again.browse('jobs', 'ready', 10, START);
    expect(moved.map(({ message: m }) => [m.id, m.attempt, m.group, m.headers])).toEqual([
      ['a', 0, 'g', { k: 'v', 'x-redrive-count': '1' }],
      ['b', 0, 'g', { k: 'v', 'x-redrive-count': '1' }],
    ]);
    expect((await again.peek('jobs.dlq', 10, START)).map((m) => m.id)).toEqual(['plain']);
    expect(await again.stats('jobs', START)).toMatchObject({ ready: 2, sent: 2 });
    expect(await again.stats('jobs.dlq', START)).toMatchObject({ ready: 1, sent: 4, acked: 0, deadLettered: 0, expired: 0 });
    expect(await again.queues(START)).toEqual(['jobs', 'jobs.dlq']);
  });

  it('.enqueue() - a dedupeId is still remembered after reopen', async () => {
    const clock = new TestClock(START);
    const storage = storageAt(tempDir(), clock);
    await storage.enqueue('jobs', [message('a', START, { dedupeId: 'k' })], POLICY, START);
    const again = await reopen(storage, clock);
    const result = await again.enqueue('jobs', [message('b', START, { dedupeId: 'k' })], POLICY, START);
    expect(result.results).toEqual([{ id: 'a', status: 'duplicate' }]);
  });

  it('.claim() - attempts survive, and a message in flight is ready again at once', async () => {
    const clock = new TestClock(START);
    const storage = storageAt(tempDir(), clock);
    await storage.enqueue('jobs', [message('a', START)], POLICY, START);
    await storage.claim('jobs', CLAIM, START);
    const again = await reopen(storage, clock);
    expect(await again.stats('jobs', START)).toMatchObject({ ready: 1, inflight: 0, delivered: 1 });
    const { delivered } = await again.claim('jobs', CLAIM, START);
    expect(delivered.map((d) => [d.message.id, d.message.attempt])).toEqual([['a', 2]]);
  });

  it('.claim() - a message that crashed the process maxAttempts times is dead-lettered, not delivered again', async () => {
    const clock = new TestClock(START);
    let storage = storageAt(tempDir(), clock);
    await storage.enqueue('jobs', [message('a', START)], POLICY, START);
    for (let i = 0; i < 3; i++) {
      await storage.claim('jobs', CLAIM, START);
      storage = await reopen(storage, clock);
    }
    const { delivered, deadLettered } = await storage.claim('jobs', CLAIM, START);
    expect(delivered).toEqual([]);
    expect(deadLettered.map((d) => [d.message.id, d.reason])).toEqual([['a', 'max-attempts']]);
    storage = await reopen(storage, clock);
    expect((await storage.peek('jobs.dlq', 10, START)).map((m) => m.id)).toEqual(['a']);
  });

  it('.ack() - an acked message is gone after reopen', async () => {
    const clock = new TestClock(START);
    const storage = storageAt(tempDir(), clock);
    await storage.enqueue('jobs', [message('a', START), message('b', START)], POLICY, START);
    const { delivered } = await storage.claim('jobs', { ...CLAIM, max: 1 }, START);
    await storage.ack('jobs', [delivered[0]!.receipt], START);
    const again = await reopen(storage, clock);
    expect((await again.peek('jobs', 10, START)).map((m) => m.id)).toEqual(['b']);
    expect(await again.stats('jobs', START)).toMatchObject({ ready: 1, sent: 2, delivered: 1, acked: 1 });
  });

  it('.release() - a message nacked with a delay is still delayed after reopen', async () => {
    const clock = new TestClock(START);
    const storage = storageAt(tempDir(), clock);
    await storage.enqueue('jobs', [message('a', START)], POLICY, START);
    const { delivered } = await storage.claim('jobs', CLAIM, START);
    await storage.release('jobs', delivered[0]!.receipt, START + 10_000, START);
    const again = await reopen(storage, clock);
    expect(await again.stats('jobs', START + 9_999)).toMatchObject({ ready: 0, delayed: 1, retried: 1 });
    expect(await again.stats('jobs', START + 10_000)).toMatchObject({ ready: 1, delayed: 0 });
  });

  it('.deadLetter() - a dead-lettered message is still in the DLQ after reopen, with its reason', async () => {
    const clock = new TestClock(START);
    const storage = storageAt(tempDir(), clock);
    await storage.enqueue('jobs', [message('a', START)], POLICY, START);
    const { delivered } = await storage.claim('jobs', CLAIM, START);
    await storage.deadLetter('jobs', delivered[0]!.receipt, 'jobs.dlq', { reason: 'rejected', error: 'bad input' }, START);
    const again = await reopen(storage, clock);
    const [dead] = await again.peek('jobs.dlq', 10, START);
    expect(dead).toMatchObject({ id: 'a', headers: { 'x-dead-reason': 'rejected', 'x-dead-error': 'bad input' } });
    expect(await again.stats('jobs', START)).toMatchObject({ ready: 0, deadLettered: 1 });
  });

  it(".enqueue() - what overflow: 'drop-oldest' dropped stays dropped after reopen", async () => {
    const clock = new TestClock(START);
    const storage = storageAt(tempDir(), clock);
    const policy: EnqueuePolicy = { ...POLICY, maxLength: 2, overflow: 'drop-oldest' };
    await storage.enqueue('jobs', [message('a', START), message('b', START), message('c', START)], policy, START);
    const again = await reopen(storage, clock);
    expect((await again.peek('jobs', 10, START)).map((m) => m.id)).toEqual(['b', 'c']);
    expect((await again.peek('jobs.dlq', 10, START)).map((m) => m.id)).toEqual(['a']);
  });

  it('.extend() - a lease extended before a crash does not hold the message after reopen', async () => {
    const clock = new TestClock(START);
    const storage = storageAt(tempDir(), clock);
    await storage.enqueue('jobs', [message('a', START)], POLICY, START);
    const { delivered } = await storage.claim('jobs', CLAIM, START);
    expect(await storage.extend('jobs', delivered[0]!.receipt, START + 3_600_000, START)).toBe('ok');
    const again = await reopen(storage, clock);
    expect(await again.stats('jobs', START)).toMatchObject({ ready: 1, inflight: 0 });
  });

  it('.purge() - purged messages stay gone after reopen', async () => {
    const clock = new TestClock(START);
    const storage = storageAt(tempDir(), clock);
    await storage.enqueue('jobs', [message('a', START), message('b', START, { availableAt: START + 5_000 })], POLICY, START);
    expect(await storage.purge('jobs', START)).toBe(2);
    const again = await reopen(storage, clock);
    expect(await again.stats('jobs', START + 10_000)).toMatchObject({ ready: 0, delayed: 0 });
  });

  it('.tick() - a message whose TTL ran out stays expired and counted after reopen', async () => {
    const clock = new TestClock(START);
    const storage = storageAt(tempDir(), clock);
    await storage.enqueue('jobs', [message('a', START, { expiresAt: START + 1_000 })], POLICY, START);
    await storage.tick(START + 1_000);
    const again = await reopen(storage, clock);
    expect(await again.stats('jobs', START)).toMatchObject({ ready: 0, expired: 1 });
  });

  it('.enqueueMany() - every fan-out copy survives', async () => {
    const clock = new TestClock(START);
    const storage = storageAt(tempDir(), clock);
    await storage.enqueueMany(['s1', 's2'], [message('a', START)], 0, START);
    const again = await reopen(storage, clock);
    expect((await again.peek('s1', 10, START)).map((m) => m.id)).toEqual(['a']);
    expect((await again.peek('s2', 10, START)).map((m) => m.id)).toEqual(['a']);
  });

  it('.open() - reads a log with META records (written by putMeta of earlier versions) and ignores them', async () => {
    const clock = new TestClock(START);
    const storage = storageAt(tempDir(), clock);
    await storage.enqueue('jobs', [message('a', START)], POLICY, START);
    await storage.close();
    appendFileSync(join(storage.dir, 'log-00000001.pmq'), encodeFrame('[0,[4,"topic:orders","[\\"billing\\"]"],[4,"gone",null]]'));
    const again = storageAt(storage.dir, clock);
    await again.enqueue('jobs', [message('b', START)], POLICY, START);
    expect((await again.peek('jobs', 10, START)).map((m) => m.id)).toEqual(['a', 'b']);
    const third = await reopen(again, clock);
    expect((await third.peek('jobs', 10, START)).map((m) => m.id)).toEqual(['a', 'b']);
  });

  it('FIFO groups keep their order across a reopen, and the head in flight is delivered first', async () => {
    const clock = new TestClock(START);
    const storage = storageAt(tempDir(), clock);
    const items = ['g1', 'g2', 'g3'].map((id) => message(id, START, { group: 'g' }));
    await storage.enqueue('jobs', items, POLICY, START);
    await storage.claim('jobs', CLAIM, START);
    const again = await reopen(storage, clock);
    const order: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { delivered } = await again.claim('jobs', CLAIM, START);
      expect(delivered).toHaveLength(1);
      order.push(delivered[0]!.message.id);
      await again.ack('jobs', [delivered[0]!.receipt], START);
    }
    expect(order).toEqual(['g1', 'g2', 'g3']);
  });

  it('lease tokens keep counting up across a reopen', async () => {
    const clock = new TestClock(START);
    const storage = storageAt(tempDir(), clock);
    await storage.enqueue('jobs', [message('a', START), message('b', START)], POLICY, START);
    const first = await storage.claim('jobs', { ...CLAIM, max: 1 }, START);
    const again = await reopen(storage, clock);
    const second = await again.claim('jobs', { ...CLAIM, max: 1 }, START);
    expect(second.delivered[0]!.receipt.token).toBeGreaterThan(first.delivered[0]!.receipt.token);
  });
});

describe('FileStorage: compaction', () => {
  it('.compact() - rewrites the log as one snapshot and keeps exactly the live state', async () => {
    const clock = new TestClock(START);
    const storage = storageAt(tempDir(), clock);
    await storage.enqueue('jobs', [message('a', START), message('b', START), message('c', START)], POLICY, START);
    const { delivered } = await storage.claim('jobs', { ...CLAIM, max: 2 }, START);
    await storage.ack('jobs', [delivered[0]!.receipt], START);
    await storage.compact();
    expect(readdirSync(storage.dir).filter((f) => f.endsWith('.pmq')).sort()).toEqual(['log-00000002.pmq', 'snapshot-00000002.pmq']);
    const again = await reopen(storage, clock);
    expect((await again.peek('jobs', 10, START)).map((m) => [m.id, m.attempt])).toEqual([
      ['b', 1],
      ['c', 0],
    ]);
    expect(await again.stats('jobs', START)).toMatchObject({ sent: 3, delivered: 2, acked: 1 });
  });

  it('disk use follows the pending messages, not the history', async () => {
    const clock = new TestClock(START);
    let storage = storageAt(tempDir(), clock, { segmentSize: 8192 });
    const size = () => readdirSync(storage.dir).reduce((sum, f) => sum + statSync(join(storage.dir, f)).size, 0);
    for (let round = 0; round < 200; round++) {
      await storage.enqueue('jobs', [message(`m${round}`, START, { body: 'x'.repeat(200) })], POLICY, START);
      const { delivered } = await storage.claim('jobs', CLAIM, START);
      await storage.ack('jobs', [delivered[0]!.receipt], START);
    }
    await storage.enqueue('jobs', [message('last', START)], POLICY, START);
    expect(size()).toBeLessThan(3 * 8192);
    storage = await reopen(storage, clock, { segmentSize: 8192 });
    expect((await storage.peek('jobs', 10, START)).map((m) => m.id)).toEqual(['last']);
    expect(await storage.stats('jobs', START)).toMatchObject({ sent: 201, acked: 200 });
  });
});

describe('FileStorage: files and options', () => {
  it('creates the directory 0700 and its files 0600', async () => {
    const dir = join(tempDir(), 'nested', 'queues');
    const storage = storageAt(dir, new TestClock(START));
    await storage.open();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const file of readdirSync(dir)) expect(statSync(join(dir, file)).mode & 0o777).toBe(0o600);
  });

  it('queue names never become file names', async () => {
    const storage = storageAt(tempDir(), new TestClock(START));
    await storage.enqueue('../../escape', [message('a', START)], POLICY, START);
    expect(readdirSync(storage.dir).sort()).toEqual(['LOCK', 'log-00000001.pmq']);
  });

  it('new FileStorage() - rejects bad options with errors naming them', () => {
    expect(() => new FileStorage(undefined as never)).toThrow(TypeError);
    expect(() => new FileStorage({ dir: '' })).toThrow(/`options.dir`/);
    expect(() => new FileStorage({ dir: 'x', fsync: 'sometimes' as never })).toThrow(/`options.fsync` to be one of 'always', 'interval', 'never'/);
    expect(() => new FileStorage({ dir: 'x', fsyncInterval: 0 })).toThrow(RangeError);
    expect(() => new FileStorage({ dir: 'x', repair: 'yes' as never })).toThrow(/`options.repair`/);
    expect(() => new FileStorage({ dir: 'x', segmentSize: 10 })).toThrow(/`options.segmentSize`/);
    expect(() => new FileStorage({ dir: 'x', clock: {} as never })).toThrow(/`options.clock`/);
    expect(() => new FileStorage({ dir: 'x', fsinc: 'never' } as never)).toThrow(/Unknown option `options.fsinc`/);
  });

  it('.enqueue() - rejects a body JSON cannot encode and stores nothing', async () => {
    const storage = storageAt(tempDir(), new TestClock(START));
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(storage.enqueue('jobs', [message('a', START), message('b', START, { body: circular })], POLICY, START)).rejects.toThrow(TypeError);
    expect(await storage.stats('jobs', START)).toMatchObject({ ready: 0, sent: 0 });
  });

  it('.open() - rejects when the path is a file', async () => {
    const dir = tempDir();
    const storage = storageAt(join(dir, 'LOCK-file'), new TestClock(START));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'LOCK-file'), 'x');
    await expect(storage.open()).rejects.toThrow(/`options.dir` to be a directory/);
  });

  it('.close() - later operations reject with ClosedError, and close is idempotent', async () => {
    const storage = storageAt(tempDir(), new TestClock(START));
    await storage.enqueue('jobs', [message('a', START)], POLICY, START);
    await storage.close();
    await storage.close();
    await expect(storage.stats('jobs', START)).rejects.toThrow(ClosedError);
    await expect(storage.open()).rejects.toThrow(ClosedError);
  });

  it('a Queue on FileStorage: sends survive, and a handler that keeps failing ends in the DLQ across reopens', async () => {
    const clock = new TestClock(START);
    const dir = tempDir();
    let storage = storageAt(dir, clock);
    let queue = new Queue<{ n: number }>('jobs', { storage, maxAttempts: 2 });
    await queue.send({ n: 1 });
    const [first] = await queue.receive({ max: 1 });
    expect(first!.attempt).toBe(1);
    storage = await reopen(storage, clock);
    queue = new Queue<{ n: number }>('jobs', { storage, maxAttempts: 2 });
    const [second] = await queue.receive({ max: 1 });
    expect(second).toMatchObject({ body: { n: 1 }, attempt: 2 });
    await second!.deadLetter('gave up');
    storage = await reopen(storage, clock);
    const dlq = new Queue<{ n: number }>('jobs.dlq', { storage });
    expect((await dlq.receive({ max: 1 }))[0]!.body).toEqual({ n: 1 });
  });
});

describe('FileStorage: group commit and fsync modes', () => {
  /** Real I/O that counts the calls. */
  function countingIo(calls: { writes: number; fsyncs: number }): FileIo {
    return {
      write: (...args) => {
        calls.writes++;
        return nodeIo.write(...args);
      },
      truncate: nodeIo.truncate,
      fsync: (fd) => {
        calls.fsyncs++;
        return nodeIo.fsync(fd);
      },
      fsyncSync: (fd) => {
        calls.fsyncs++;
        nodeIo.fsyncSync(fd);
      },
      now: nodeIo.now,
    };
  }

  /** Real I/O whose fsyncs take `fsyncMs[i]` ms on a fake stopwatch, logging where each one ran. */
  function timedIo(fsyncMs: number[], ran: string[]): FileIo {
    let time = 0;
    return {
      ...nodeIo,
      fsync: async (fd) => {
        ran.push('pool');
        time += fsyncMs[ran.length - 1] ?? 0;
        return nodeIo.fsync(fd);
      },
      fsyncSync: (fd) => {
        ran.push('loop');
        time += fsyncMs[ran.length - 1] ?? 0;
        nodeIo.fsyncSync(fd);
      },
      now: () => time,
    };
  }

  it("fsync 'always': batches fsync on the event loop while the disk is fast, in the thread pool while it is slow", async () => {
    const ran: string[] = [];
    // One stray slow fsync changes nothing; once five of the last eight were slow the
    // next ones go to the thread pool, until fast ones are the majority again.
    const ms = [0.1, 5, 0.1, 0.1, 5, 5, 5, 5, 5, 5, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1];
    const storage = new FileStorage(withFileIo({ dir: tempDir(), clock: new TestClock(START) }, timedIo(ms, ran)));
    open.push(storage);
    for (let i = 0; i < ms.length; i++) await storage.enqueue('jobs', [message(`m${i}`, START)], POLICY, START);
    expect(ran).toEqual([...Array<string>(8).fill('loop'), ...Array<string>(6).fill('pool'), 'loop', 'loop']);
    expect((await storage.peek('jobs', 100, START)).map((m) => m.id)).toEqual(ms.map((_, i) => `m${i}`));
  });

  it("fsync 'always': the operations of one tick share one write and one fsync, and none resolves before it", async () => {
    const calls = { writes: 0, fsyncs: 0 };
    const storage = new FileStorage(withFileIo({ dir: tempDir(), clock: new TestClock(START) }, countingIo(calls)));
    open.push(storage);
    await storage.open();
    const resolved: number[] = [];
    const sends = Array.from({ length: 100 }, (_, i) =>
      storage.enqueue('jobs', [message(`m${i}`, START)], POLICY, START).then(() => resolved.push(calls.fsyncs)),
    );
    await Promise.all(sends);
    expect(calls).toEqual({ writes: 1, fsyncs: 1 });
    expect(new Set(resolved)).toEqual(new Set([1]));
  });

  /** Real I/O that logs each length change and each sync: `['length', n]`, `'fsync'` or `'fdatasync'`. */
  function loggingIo(log: (string | [string, number])[], refuseLength = false): FileIo {
    return {
      ...nodeIo,
      truncate: (fd, length) => {
        if (refuseLength) throw Object.assign(new Error('EFBIG: file too large, ftruncate'), { code: 'EFBIG' });
        log.push(['length', length]);
        nodeIo.truncate(fd, length);
      },
      fsync: (fd, dataOnly) => {
        log.push(dataOnly ? 'fdatasync' : 'fsync');
        return nodeIo.fsync(fd, dataOnly);
      },
      fsyncSync: (fd, dataOnly) => {
        log.push(dataOnly ? 'fdatasync' : 'fsync');
        nodeIo.fsyncSync(fd, dataOnly);
      },
    };
  }

  it("fsync 'always': the segment is lengthened ahead, so batches fdatasync until it is lengthened again; close cuts the room", async () => {
    const log: (string | [string, number])[] = [];
    const dir = tempDir();
    const storage = new FileStorage(withFileIo({ dir, clock: new TestClock(START), segmentSize: 64 * 1024 }, loggingIo(log)));
    open.push(storage);
    await storage.open();
    const segment = join(dir, 'log-00000001.pmq');
    const body = 'x'.repeat(1000);
    for (let i = 0; i < 80; i++) await storage.enqueue('jobs', [message(`m${i}`, START, { body })], POLICY, START);
    // Lengthened to the segment size at once (the 1 MiB step is larger); the one batch after each lengthening makes the length durable.
    expect(log.slice(0, 3)).toEqual([['length', 64 * 1024], 'fsync', 'fdatasync']);
    const lengths = log.filter((entry) => Array.isArray(entry));
    const fullSyncs = log.filter((entry) => entry === 'fsync').length;
    expect(fullSyncs).toBe(lengths.length);
    expect(log.filter((entry) => entry === 'fdatasync').length).toBe(80 - fullSyncs);
    // Past the segment size the segment grows by each batch only, and rolls over after it.
    expect(readdirSync(dir).filter((f) => f.startsWith('log-')).length).toBeGreaterThan(1);
    await storage.close();
    const again = new FileStorage({ dir, clock: new TestClock(START) });
    open.push(again);
    const recovered: unknown[] = [];
    again.on('recovered', (info) => recovered.push(info));
    expect((await again.peek('jobs', 100, START)).map((m) => m.id)).toEqual(Array.from({ length: 80 }, (_, i) => `m${i}`));
    expect(recovered).toEqual([]);
    // Closed segments hold their bytes and no room: every file ends with a frame.
    for (const name of readdirSync(dir).filter((f) => f.endsWith('.pmq'))) {
      const bytes = readFileSync(join(dir, name));
      expect(bytes.at(-1), name).not.toBe(0);
    }
    expect(statSync(segment).size).toBeLessThan(64 * 1024 + 2000);
  });

  it("fsync 'always': when the file system refuses the room ahead (a file-size limit), batches append and fsync as before", async () => {
    const log: (string | [string, number])[] = [];
    const dir = tempDir();
    const storage = new FileStorage(withFileIo({ dir, clock: new TestClock(START) }, loggingIo(log, true)));
    open.push(storage);
    for (let i = 0; i < 5; i++) await storage.enqueue('jobs', [message(`m${i}`, START)], POLICY, START);
    expect(log).toEqual(Array<string>(5).fill('fsync'));
    await storage.close();
    const again = new FileStorage({ dir, clock: new TestClock(START) });
    open.push(again);
    expect((await again.peek('jobs', 10, START)).map((m) => m.id)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  it("fsync 'always': the operations set off by one batch's results share the next batch", async () => {
    const calls = { writes: 0, fsyncs: 0 };
    const storage = new FileStorage(withFileIo({ dir: tempDir(), clock: new TestClock(START) }, countingIo(calls)));
    open.push(storage);
    await storage.open();
    const send = (id: string) => storage.enqueue('jobs', [message(id, START)], POLICY, START);
    await send('a');
    // Two producers, each sending again once its first send resolved, the second a few microtasks later.
    const later = async () => {
      for (let i = 0; i < 5; i++) await null;
    };
    await Promise.all([send('b').then(() => send('c')), send('d').then(later).then(() => send('e'))]);
    expect(calls).toEqual({ writes: 3, fsyncs: 3 });
    expect((await storage.peek('jobs', 10, START)).map((m) => m.id)).toEqual(['a', 'b', 'd', 'c', 'e']);
  });

  it("fsync 'interval': writes resolve at once and one fsync follows fsyncInterval ms later", async () => {
    const clock = new TestClock(START);
    const calls = { writes: 0, fsyncs: 0 };
    const storage = new FileStorage(withFileIo({ dir: tempDir(), clock, fsync: 'interval', fsyncInterval: 500 }, countingIo(calls)));
    open.push(storage);
    await storage.enqueue('jobs', [message('a', START)], POLICY, START);
    await storage.enqueue('jobs', [message('b', START)], POLICY, START);
    expect(calls).toEqual({ writes: 2, fsyncs: 0 });
    await clock.advance(499);
    expect(calls.fsyncs).toBe(0);
    await clock.advance(1);
    expect(calls).toEqual({ writes: 2, fsyncs: 1 });
    await clock.advance(5_000);
    expect(calls.fsyncs).toBe(1);
  });

  it("fsync 'interval': a loop of sends that keeps the timer from firing still fsyncs once fsyncInterval ms have passed", async () => {
    let time = START;
    // A clock whose timers never fire: what a loop that never yields to the event loop looks like.
    const clock = { now: () => time, setTimer: () => ({}) as TimerHandle, clearTimer: () => {}, sleep: () => new Promise<void>(() => {}) };
    const calls = { writes: 0, fsyncs: 0 };
    const storage = new FileStorage(withFileIo({ dir: tempDir(), clock, fsync: 'interval', fsyncInterval: 500 }, countingIo(calls)));
    open.push(storage);
    await storage.open();
    await storage.enqueue('jobs', [message('a', START)], POLICY, START);
    time += 499;
    await storage.enqueue('jobs', [message('b', START)], POLICY, START);
    expect(calls).toEqual({ writes: 2, fsyncs: 0 });
    time += 1;
    await storage.enqueue('jobs', [message('c', START)], POLICY, START);
    await storage.stats('jobs', START);
    expect(calls).toEqual({ writes: 3, fsyncs: 1 });
    time += 100;
    await storage.enqueue('jobs', [message('d', START)], POLICY, START);
    expect(calls).toEqual({ writes: 4, fsyncs: 1 });
  });

  it("fsync 'never': batches are written and never fsynced", async () => {
    const clock = new TestClock(START);
    const calls = { writes: 0, fsyncs: 0 };
    const dir = tempDir();
    const storage = new FileStorage(withFileIo({ dir, clock, fsync: 'never' }, countingIo(calls)));
    await storage.enqueue('jobs', [message('a', START)], POLICY, START);
    await clock.advance(60_000);
    await storage.close();
    expect(calls).toEqual({ writes: 1, fsyncs: 0 });
    const again = storageAt(dir, clock);
    expect((await again.peek('jobs', 10, START)).map((m) => m.id)).toEqual(['a']);
  });

  it('an operation that ran another inside its signals (a consumer claiming on a wake-up) still waits for its own write', async () => {
    const calls = { writes: 0, fsyncs: 0 };
    const storage = new FileStorage(withFileIo({ dir: tempDir(), clock: new TestClock(START) }, countingIo(calls)));
    open.push(storage);
    await storage.open();
    let claimed: Promise<unknown> | undefined;
    storage.watch((signal) => {
      if (signal.type === 'ready' && !claimed) claimed = storage.claim('jobs', CLAIM, START);
    });
    await storage.enqueue('jobs', [message('a', START)], POLICY, START);
    expect(calls).toEqual({ writes: 1, fsyncs: 1 });
    await claimed;
  });

  it('batches of every size come back whole: past the 64 KiB batch buffer, past 1 MiB, and small ones after them', async () => {
    const clock = new TestClock(START);
    const calls = { writes: 0, fsyncs: 0 };
    const dir = tempDir();
    const storage = new FileStorage(withFileIo({ dir, clock, fsync: 'never' }, countingIo(calls)));
    open.push(storage);
    await storage.open();
    const bodies = [
      ['a', 'é€😀'.repeat(30_000)], // one record past 64 KiB, multi-byte UTF-8
      ['b', 'x'.repeat(2_000_000)], // past 1 MiB: the buffer is let go after the write
      ['c', 'small'],
    ] as const;
    await Promise.all(bodies.slice(0, 2).map(([id, body]) => storage.enqueue('jobs', [message(id, START, { body })], POLICY, START)));
    await storage.enqueue('jobs', [message('c', START, { body: 'small' })], POLICY, START);
    expect(calls.writes).toBe(2);
    const again = await reopen(storage, clock);
    expect((await again.peek('jobs', 10, START)).map((m) => [m.id, m.body])).toEqual(bodies);
  });

  it('a read that changes nothing writes nothing', async () => {
    const calls = { writes: 0, fsyncs: 0 };
    const storage = new FileStorage(withFileIo({ dir: tempDir(), clock: new TestClock(START) }, countingIo(calls)));
    open.push(storage);
    await storage.enqueue('jobs', [message('a', START)], POLICY, START);
    await storage.stats('jobs', START);
    await storage.peek('jobs', 10, START);
    await storage.tick(START + 1);
    await storage.claim('empty', CLAIM, START);
    expect(calls.writes).toBe(1);
  });
});

describe("FileStorage: nothing resolves on the strength of a record not yet durable (fsync 'always')", () => {
  /**
   * Real I/O whose thread-pool fsyncs are held until `release()`, and whose stopwatch
   * makes every fsync look slow (10 ms), so that batches after the first one fsync in
   * the thread pool: the window in which a slow disk keeps a written batch waiting.
   */
  function heldIo() {
    const held: (() => void)[] = [];
    let time = 0;
    const io: FileIo = {
      ...nodeIo,
      fsync: async (fd) => {
        time += 10;
        // Held from the call on: a busy disk's own fsync time does not change what the test sees.
        const released = new Promise<void>((resolve) => held.push(resolve));
        await nodeIo.fsync(fd);
        await released;
      },
      fsyncSync: (fd) => {
        time += 10;
        nodeIo.fsyncSync(fd);
      },
      now: () => time,
    };
    return { io, held: () => held.length, release: () => held.splice(0).forEach((resolve) => resolve()) };
  }

  const turns = async (n: number) => {
    for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
  };

  async function untilHeld(disk: { held(): number }): Promise<void> {
    for (let i = 0; i < 10_000 && disk.held() === 0; i++) await turns(1);
    expect(disk.held()).toBe(1);
  }

  /** Runs `operation` and records when it settles. */
  function watched<T>(operation: Promise<T>) {
    const state = { settled: false, value: undefined as T | undefined };
    const done = operation.then((value) => {
      state.settled = true;
      state.value = value;
      return value;
    });
    return { state, done };
  }

  it('.enqueue() - a duplicate of a message whose batch waits for its fsync resolves only after that fsync, and so do reads', async () => {
    const disk = heldIo();
    const storage = new FileStorage(withFileIo({ dir: tempDir(), clock: new TestClock(START) }, disk.io));
    open.push(storage);
    // The first five fsyncs run on the event loop; with five slow ones of the last eight the next ones go to the thread pool.
    for (let i = 0; i < 5; i++) await storage.enqueue('jobs', [message(`warm-up-${i}`, START)], POLICY, START);

    const original = watched(storage.enqueue('jobs', [message('a', START, { dedupeId: 'order-1' })], POLICY, START));
    await untilHeld(disk);
    const duplicate = watched(storage.enqueue('jobs', [message('b', START, { dedupeId: 'order-1' })], POLICY, START));
    const peeked = watched(storage.peek('jobs', 10, START));
    await turns(20);
    const settledWhileHeld = [original.state.settled, duplicate.state.settled, peeked.state.settled];
    disk.release();
    expect(settledWhileHeld).toEqual([false, false, false]);
    await Promise.all([original.done, duplicate.done, peeked.done]);
    expect(duplicate.state.value!.results).toEqual([{ id: 'a', status: 'duplicate' }]);
    expect(peeked.state.value!.map((m) => m.id)).toEqual(['warm-up-0', 'warm-up-1', 'warm-up-2', 'warm-up-3', 'warm-up-4', 'a']);
  });

  it('.enqueue() - a duplicate of a message a compaction is writing into the snapshot resolves only once the snapshot is durable', async () => {
    const disk = heldIo();
    const dir = tempDir();
    const clock = new TestClock(START);
    const storage = new FileStorage(withFileIo({ dir, clock }, disk.io));
    open.push(storage);
    await storage.open();
    const compacted = watched(storage.compact());
    // Issued in the same tick: its record is still in the journal when the compaction
    // starts, so it becomes durable through the snapshot's fsync and nowhere else.
    const original = watched(storage.enqueue('jobs', [message('a', START, { dedupeId: 'order-1' })], POLICY, START));
    await untilHeld(disk);
    const duplicate = watched(storage.enqueue('jobs', [message('b', START, { dedupeId: 'order-1' })], POLICY, START));
    await turns(20);
    const settledWhileHeld = [compacted.state.settled, original.state.settled, duplicate.state.settled];
    disk.release();
    expect(settledWhileHeld).toEqual([false, false, false]);
    await Promise.all([compacted.done, original.done, duplicate.done]);
    expect(duplicate.state.value!.results).toEqual([{ id: 'a', status: 'duplicate' }]);
    const again = await reopen(storage, clock);
    expect((await again.peek('jobs', 10, START)).map((m) => m.id)).toEqual(['a']);
  });
});
