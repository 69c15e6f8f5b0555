/**
 * pocketmq/crypto through FileStorage and RedisStorage: the properties the codecs promise
 * (nothing readable at rest, tampering and forgery caught, rotation, dead-letter and
 * redrive), each with a control that shows the check fails where it should.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encryption, signing } from '../src/crypto.js';
import { BadSignatureError, UndecryptableError } from '../src/errors.js';
import { FileStorage } from '../src/file.js';
import { encodeFrame, FILE_HEADER_SIZE, FRAME_HEADER_SIZE } from '../src/file/frame.js';
import { Queue } from '../src/queue.js';
import { RedisStorage } from '../src/redis.js';
import { TestClock } from '../src/test-clock.js';
import type { Codec } from '../src/storage/body-codec.js';
import { UnreadableBody } from '../src/storage/unreadable-body.js';
import { redisSkipReason, useRedis, type RedisServer } from './helpers/redis-server.js';
import { describeStorage } from './storage-contract.js';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const svcA = generateKeyPairSync('ed25519');
const mallory = generateKeyPairSync('ed25519');
/** A body marker no other bytes contain. */
const marker = () => `secret-${randomBytes(6).toString('hex')}`;

interface Body {
  secret: string;
}

/** The key id an envelope names: byte 2 is its length, the id follows. */
function keyIdOfEnvelope(envelope: Buffer): string {
  return envelope.subarray(3, 3 + envelope[2]!).toString('utf8');
}

/** Resolves with the next `'dead'` event of `queue`, and rejects if the handler ever runs. */
function nextDead(queue: Queue<Body>): Promise<{ reason: string; errors: Error[] }> {
  const errors: Error[] = [];
  queue.on('error', (error) => errors.push(error));
  return new Promise((resolve) => queue.once('dead', (_m, reason) => resolve({ reason, errors })));
}

/**
 * Sends, delays, dead-letters and schedules bodies that hold `secret`, so that every
 * place a body is stored holds one: ready, delayed, a dead-letter copy, a schedule.
 */
async function storeEverywhere(queue: Queue<Body>, secret: string): Promise<void> {
  await queue.send({ secret: `${secret}-dead` });
  const [first] = await queue.receive({ max: 1, wait: 0 });
  await first!.deadLetter('rejected');
  await queue.send({ secret: `${secret}-ready` });
  await queue.send({ secret: `${secret}-delayed` }, { delay: 3_600_000 });
  await queue.schedule('hourly', { every: 3_600_000 }, { secret: `${secret}-schedule` });
}

// ---------------------------------------------------------------------------------------------
// FileStorage
// ---------------------------------------------------------------------------------------------

const dirs: string[] = [];
const storages: (FileStorage | RedisStorage)[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pocketmq-crypto-'));
  dirs.push(dir);
  return dir;
}

function fileStorage(dir: string, codec?: Codec | Codec[]): FileStorage {
  const storage = new FileStorage(codec === undefined ? { dir } : { dir, codec });
  storages.push(storage);
  return storage;
}

afterEach(async () => {
  for (const storage of storages.splice(0)) await storage.close().catch(() => undefined);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Every byte of every file under `dir`. */
function allBytes(dir: string): Buffer {
  const parts: Buffer[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    parts.push(statSync(path).isDirectory() ? allBytes(path) : readFileSync(path));
  }
  return Buffer.concat(parts);
}

/** The frames' payloads of a log segment or snapshot, parsed. */
function readFrames(path: string): { header: Buffer; batches: unknown[][] } {
  const bytes = readFileSync(path);
  const batches: unknown[][] = [];
  for (let at = FILE_HEADER_SIZE; at < bytes.length; ) {
    const length = bytes.readUInt32LE(at + 4);
    batches.push(JSON.parse(bytes.subarray(at + FRAME_HEADER_SIZE, at + FRAME_HEADER_SIZE + length).toString('utf8')) as unknown[]);
    at += FRAME_HEADER_SIZE + length;
  }
  return { header: bytes.subarray(0, FILE_HEADER_SIZE), batches };
}

/** Rewrites a log file with `change` applied to its records, every frame sealed again (as someone who can write the file would). */
function rewriteRecords(path: string, change: (record: unknown[]) => void): void {
  const { header, batches } = readFrames(path);
  for (const batch of batches) for (let i = 1; i < batch.length; i++) change(batch[i] as unknown[]);
  writeFileSync(path, Buffer.concat([header, ...batches.map((batch) => encodeFrame(JSON.stringify(batch)))]));
}

/** The sealed PUT records (type 10) of a directory's files. */
function sealedPuts(dir: string): unknown[][] {
  const out: unknown[][] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.pmq'))) {
    for (const batch of readFrames(join(dir, name)).batches) for (const r of batch.slice(1) as unknown[][]) if (r[0] === 10) out.push(r);
  }
  return out;
}

/** `text` with one base64 character changed, far from the envelope header. */
function flipBase64(text: string): string {
  const at = Math.floor(text.length / 2);
  return text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
}

describeStorage('FileStorage (encryption)', async (clock) => {
  const dir = mkdtempSync(join(tmpdir(), 'pocketmq-contract-crypto-'));
  return {
    storage: new FileStorage({ dir, clock, codec: [signing({ id: 'svcA', privateKey: svcA.privateKey }), encryption({ keys: { k1 }, current: 'k1' })] }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('FileStorage with options.codec', () => {
  it.each([
    ['encryption', () => encryption({ keys: { k1 }, current: 'k1' })],
    ['[signing, encryption]', () => [signing({ id: 'svcA', privateKey: svcA.privateKey }), encryption({ keys: { k1 }, current: 'k1' })]],
  ])('%s: no byte under the directory holds a body, before and after compaction; without it, every one does', async (_name, codec) => {
    const secret = marker();
    const dir = tempDir();
    const storage = fileStorage(dir, codec());
    await storeEverywhere(new Queue<Body>('orders', { storage }), `${secret}-a`);
    await storage.compact();
    await storeEverywhere(new Queue<Body>('invoices', { storage }), `${secret}-b`);
    await storage.close();
    const bytes = allBytes(dir);
    expect(bytes.length).toBeGreaterThan(1_000);
    expect(bytes.includes(secret)).toBe(false);
    // They were all stored, and read back after a restart.
    const reopened = fileStorage(dir, codec());
    for (const [name, round] of [['orders', 'a'], ['invoices', 'b']]) {
      const again = new Queue<Body>(name!, { storage: reopened });
      const bodies = [...(await again.peek({ max: 10, state: 'ready' })), ...(await again.peek({ max: 10, state: 'delayed' }))].map((m) => m.body.secret);
      expect(bodies).toEqual([`${secret}-${round}-ready`, `${secret}-${round}-delayed`]);
      expect((await new Queue<Body>(`${name}.dlq`, { storage: reopened }).peek()).map((m) => m.body.secret)).toEqual([`${secret}-${round}-dead`]);
      expect((await again.schedules()).map((s) => (s.body as Body).secret)).toEqual([`${secret}-${round}-schedule`]);
    }

    // The control: the same check finds every body of a storage without a codec.
    const plainDir = tempDir();
    const plain = fileStorage(plainDir);
    await storeEverywhere(new Queue<Body>('orders', { storage: plain }), secret);
    await plain.close();
    const plainBytes = allBytes(plainDir);
    for (const where of ['ready', 'delayed', 'dead', 'schedule']) expect(plainBytes.includes(`${secret}-${where}`), where).toBe(true);
  });

  it('a flipped byte in a stored ciphertext: dead-lettered as undecryptable with an error event, never handled, and peek shows it', async () => {
    const dir = tempDir();
    const codec = () => encryption({ keys: { k1 }, current: 'k1' });
    const first = fileStorage(dir, codec());
    const id = await new Queue<Body>('orders', { storage: first }).send({ secret: marker() });
    const good = await new Queue<Body>('orders', { storage: first }).send({ secret: 'untouched' });
    await first.close();
    let flipped = 0;
    rewriteRecords(join(dir, 'log-00000001.pmq'), (r) => {
      if (r[0] === 10 && r[2] === id) {
        r[14] = flipBase64(r[14] as string);
        flipped++;
      }
    });
    expect(flipped).toBe(1);

    const storage = fileStorage(dir, codec());
    const queue = new Queue<Body>('orders', { storage });
    const peeked = await queue.peek();
    expect(peeked.map((m) => m.id)).toEqual([id, good]);
    expect(peeked[0]!.body).toBeInstanceOf(UnreadableBody);
    expect((peeked[0]!.body as unknown as UnreadableBody).reason).toBe('undecryptable');
    expect(JSON.stringify(peeked[0]!.body)).toContain('"unreadable":"undecryptable"');
    const dead = nextDead(queue);
    const handled: string[] = [];
    const consumer = queue.consume((m) => {
      handled.push(m.body.secret);
    });
    const { reason, errors } = await dead;
    await queue.idle();
    await consumer.stop();
    expect(reason).toBe('undecryptable');
    expect(handled).toEqual(['untouched']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(UndecryptableError);
    expect(errors[0]!.message).toContain(`message "${id}" does not decrypt with key "k1"`);
    const [copy] = await new Queue<Body>('orders.dlq', { storage }).peek();
    expect(copy!.id).toBe(id);
    expect(copy!.headers['x-dead-reason']).toBe('undecryptable');
    expect(copy!.body).toBeInstanceOf(UnreadableBody);
  });

  it('with a schema too, a body that does not decrypt is dead-lettered as undecryptable, not as invalid', async () => {
    const dir = tempDir();
    const codec = () => encryption({ keys: { k1 }, current: 'k1' });
    const first = fileStorage(dir, codec());
    const id = await new Queue<Body>('orders', { storage: first }).send({ secret: marker() });
    await first.close();
    rewriteRecords(join(dir, 'log-00000001.pmq'), (r) => {
      if (r[0] === 10 && r[2] === id) r[14] = flipBase64(r[14] as string);
    });
    const storage = fileStorage(dir, codec());
    const queue = new Queue('orders', { storage, schema: z.object({ secret: z.string() }) });
    const dead = nextDead(queue);
    const handled: string[] = [];
    const consumer = queue.consume((m) => {
      handled.push(m.body.secret);
    });
    const { reason, errors } = await dead;
    await consumer.stop();
    expect(reason).toBe('undecryptable');
    expect(errors[0]).toBeInstanceOf(UndecryptableError);
    expect(handled).toEqual([]);
    const [copy] = await new Queue<Body>('orders.dlq', { storage }).peek();
    expect(copy!.headers['x-dead-reason']).toBe('undecryptable');
  });

  it('a message re-signed by an unknown key is refused as bad-signature; the signer\'s own are handled', async () => {
    const dir = tempDir();
    const forger = fileStorage(dir, signing({ id: 'mallory', privateKey: mallory.privateKey }));
    const forged = await new Queue<Body>('orders', { storage: forger }).send({ secret: 'pay mallory' });
    await forger.close();
    const storage = fileStorage(dir, signing({ id: 'svcA', privateKey: svcA.privateKey, publicKeys: { svcA: svcA.publicKey } }));
    const queue = new Queue<Body>('orders', { storage });
    await queue.send({ secret: 'pay alice' });
    const dead = nextDead(queue);
    const handled: string[] = [];
    const consumer = queue.consume((m) => {
      handled.push(m.body.secret);
    });
    const { reason, errors } = await dead;
    await queue.idle();
    await consumer.stop();
    expect(reason).toBe('bad-signature');
    expect(handled).toEqual(['pay alice']);
    expect(errors[0]).toBeInstanceOf(BadSignatureError);
    expect(errors[0]!.message).toBe(`The body of message "${forged}" is signed by key "mallory", which is not in options.publicKeys`);
    expect((await new Queue('orders.dlq', { storage }).peek())[0]!.headers['x-dead-reason']).toBe('bad-signature');
  });

  it('key rotation across restarts: old bodies decrypt, new ones use the current key, and compaction re-encrypts the rest', async () => {
    const dir = tempDir();
    const before = fileStorage(dir, encryption({ keys: { k1 }, current: 'k1' }));
    await new Queue<Body>('orders', { storage: before }).send({ secret: 'old' });
    await before.close();

    const rotated = fileStorage(dir, encryption({ keys: { k2, k1 }, current: 'k2' }));
    const queue = new Queue<Body>('orders', { storage: rotated });
    await queue.send({ secret: 'new' });
    expect((await queue.peek()).map((m) => m.body.secret)).toEqual(['old', 'new']);
    await rotated.close();
    expect(sealedPuts(dir).map((r) => keyIdOfEnvelope(Buffer.from(r[14] as string, 'base64')))).toEqual(['k1', 'k2']);

    // Without k1 the old body is unreadable, until a compaction under k2 re-encrypted it.
    const withoutK1 = fileStorage(dir, encryption({ keys: { k2 }, current: 'k2' }));
    expect((await new Queue<Body>('orders', { storage: withoutK1 }).peek()).map((m) => m.body instanceof UnreadableBody)).toEqual([true, false]);
    await withoutK1.close();
    const compacting = fileStorage(dir, encryption({ keys: { k2, k1 }, current: 'k2' }));
    await compacting.compact();
    await compacting.close();
    expect(sealedPuts(dir).map((r) => keyIdOfEnvelope(Buffer.from(r[14] as string, 'base64')))).toEqual(['k2', 'k2']);
    const after = fileStorage(dir, encryption({ keys: { k2 }, current: 'k2' }));
    expect((await new Queue<Body>('orders', { storage: after }).peek()).map((m) => m.body.secret)).toEqual(['old', 'new']);
  });

  it('a body moved to a dead-letter queue and redriven, across restarts, still decrypts', async () => {
    const dir = tempDir();
    const codec = () => [signing({ id: 'svcA', privateKey: svcA.privateKey }), encryption({ keys: { k1 }, current: 'k1' })];
    const secret = marker();
    const first = fileStorage(dir, codec());
    const orders = new Queue<Body>('orders', { storage: first, maxAttempts: 1 });
    const id = await orders.send({ secret });
    const [m] = await orders.receive({ max: 1, wait: 0 });
    await m!.nack();
    await first.close();
    expect(allBytes(dir).includes(secret)).toBe(false);

    const second = fileStorage(dir, codec());
    const dlq = new Queue<Body>('orders.dlq', { storage: second });
    expect((await dlq.peek()).map((d) => [d.id, d.body.secret, d.headers['x-dead-reason']])).toEqual([[id, secret, 'max-attempts']]);
    expect(await dlq.redrive()).toBe(1);
    await second.close();
    expect(allBytes(dir).includes(secret)).toBe(false);

    const third = fileStorage(dir, codec());
    const [back] = await new Queue<Body>('orders', { storage: third }).receive({ max: 1, wait: 0 });
    expect([back!.id, back!.body.secret, back!.headers['x-redrive-count']]).toEqual([id, secret, '1']);
  });

  it('a body written before the codec was set is dead-lettered as undecryptable, not handed out', async () => {
    const dir = tempDir();
    const plain = fileStorage(dir);
    await new Queue<Body>('orders', { storage: plain }).send({ secret: 'plaintext' });
    await plain.close();
    const storage = fileStorage(dir, encryption({ keys: { k1 }, current: 'k1' }));
    const queue = new Queue<Body>('orders', { storage });
    const dead = nextDead(queue);
    expect(await queue.receive({ max: 1, wait: 0 })).toEqual([]);
    const { reason, errors } = await dead;
    expect(reason).toBe('undecryptable');
    expect(errors[0]!.message).toContain('is not an encrypted pocketmq body');
  });

  it('a sealed body opened without a codec is unreadable, and kept as it was for when the codec is back', async () => {
    const dir = tempDir();
    const codec = () => encryption({ keys: { k1 }, current: 'k1' });
    const sealed = fileStorage(dir, codec());
    await new Queue<Body>('orders', { storage: sealed }).send({ secret: 'kept' });
    await sealed.close();
    const without = fileStorage(dir);
    const [m] = await new Queue<Body>('orders', { storage: without }).peek();
    expect((m!.body as unknown as UnreadableBody).error.message).toContain('was stored by a codec (options.codec), and this storage has none');
    await without.compact();
    await without.close();
    const back = fileStorage(dir, codec());
    expect((await new Queue<Body>('orders', { storage: back }).peek()).map((x) => x.body.secret)).toEqual(['kept']);
  });

  it('a schedule whose body does not open still ticks, and each tick is dead-lettered, never handled', async () => {
    const dir = tempDir();
    const clock = new TestClock(Date.UTC(2026, 0, 1));
    const before = new FileStorage({ dir, clock, codec: encryption({ keys: { k1 }, current: 'k1' }) });
    storages.push(before);
    await new Queue<Body>('reports', { storage: before }).schedule('every-second', { every: 1_000 }, { secret: 'tick' });
    await before.close();
    const storage = new FileStorage({ dir, clock, codec: encryption({ keys: { k2 }, current: 'k2' }) });
    storages.push(storage);
    const queue = new Queue<Body>('reports', { storage });
    const reasons: string[] = [];
    const errors: string[] = [];
    queue.on('dead', (_m, reason) => reasons.push(reason));
    queue.on('error', (error) => errors.push(error.message));
    const handled: unknown[] = [];
    const consumer = queue.consume((m) => {
      handled.push(m.body);
    });
    await clock.advance(2_500);
    await consumer.stop();
    expect(handled).toEqual([]);
    expect(reasons).toEqual(['undecryptable', 'undecryptable']);
    expect(errors[0]).toBe('The body of schedule "every-second" of queue "reports" was encrypted with key "k1", which is not in options.keys');
  });

  it('new FileStorage() - refuses a codec that cannot encode, and a value that is not a codec, naming options.codec', () => {
    expect(() => new FileStorage({ dir: tempDir(), codec: signing({ publicKeys: { svcA: svcA.publicKey } }) })).toThrow(
      'Expected `options.codec` to be codecs that can encode, got codec "ed25519", which can only decode',
    );
    expect(() => new FileStorage({ dir: tempDir(), codec: [encryption({ keys: { k1 }, current: 'k1' }), 'aes' as never] })).toThrow(
      'Expected `options.codec[1]` to be a codec (an object with name, encode and decode',
    );
  });
});

// ---------------------------------------------------------------------------------------------
// RedisStorage
// ---------------------------------------------------------------------------------------------

const describeRedis = describe.skipIf(redisSkipReason() !== undefined);
let server: RedisServer;
let admin: Redis;

beforeAll(async () => {
  if (redisSkipReason() !== undefined) return;
  server = await useRedis();
  admin = new Redis(server.url);
});

afterAll(async () => {
  admin?.disconnect();
  await server?.close();
});

function redisStorage(prefix: string, codec?: Codec | Codec[]): RedisStorage {
  const storage = new RedisStorage(codec === undefined ? { url: server.url, prefix } : { url: server.url, prefix, codec });
  storages.push(storage);
  return storage;
}

/** Every value of every key of `prefix`, read whole by its type, and each key's DUMP. */
async function allValues(prefix: string): Promise<{ keys: number; bytes: Buffer }> {
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, found] = await admin.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of found) keys.add(key);
  } while (cursor !== '0');
  const parts: Buffer[] = [];
  for (const key of keys) {
    const type = await admin.type(key);
    const value =
      type === 'string' ? [await admin.getBuffer(key)]
      : type === 'hash' ? await admin.hgetallBuffer(key).then((h) => Object.entries(h).flatMap(([k, v]) => [Buffer.from(k), v]))
      : type === 'list' ? await admin.lrangeBuffer(key, 0, -1)
      : type === 'set' ? await admin.smembersBuffer(key)
      : type === 'zset' ? await admin.zrangeBuffer(key, 0, -1)
      : [Buffer.from(JSON.stringify(await admin.xrange(key, '-', '+')))];
    for (const v of value) if (v) parts.push(Buffer.from(v));
    parts.push(Buffer.from(key), (await admin.dumpBuffer(key)) ?? Buffer.alloc(0));
  }
  return { keys: keys.size, bytes: Buffer.concat(parts) };
}

/** The `T:b` hash of queue `orders` (keyTag 'family'): id → record, the stored body on its last line. */
function bodyKey(prefix: string): string {
  return `{${prefix}:orders}:orders:b`;
}

describeRedis('RedisStorage with options.codec', () => {
  describeStorage('RedisStorage (encryption)', async (clock) => ({
    storage: new RedisStorage({ url: server.url, prefix: server.prefix('crypto-contract'), clock, codec: encryption({ keys: { k1 }, current: 'k1' }) }),
  }));

  it.each([
    ['encryption', () => encryption({ keys: { k1 }, current: 'k1' })],
    ['[signing, encryption]', () => [signing({ id: 'svcA', privateKey: svcA.privateKey }), encryption({ keys: { k1 }, current: 'k1' })]],
  ])('%s: no Redis value of the prefix holds a body; without it, every one does', async (_name, codec) => {
    const secret = marker();
    const prefix = server.prefix('crypto-at-rest');
    const queue = new Queue<Body>('orders', { storage: redisStorage(prefix, codec()) });
    await storeEverywhere(queue, secret);
    const stored = await allValues(prefix);
    expect(stored.keys).toBeGreaterThan(4);
    expect(stored.bytes.includes(secret)).toBe(false);
    const other = new Queue<Body>('orders', { storage: redisStorage(prefix, codec()) });
    expect((await new Queue<Body>('orders.dlq', { storage: redisStorage(prefix, codec()) }).peek()).map((m) => m.body.secret)).toEqual([`${secret}-dead`]);
    expect((await other.peek({ max: 10, state: 'ready' })).map((m) => m.body.secret)).toEqual([`${secret}-ready`]);
    expect((await other.peek({ max: 10, state: 'delayed' })).map((m) => m.body.secret)).toEqual([`${secret}-delayed`]);
    expect((await other.schedules()).map((s) => (s.body as Body).secret)).toEqual([`${secret}-schedule`]);

    const plainPrefix = server.prefix('crypto-control');
    await storeEverywhere(new Queue<Body>('orders', { storage: redisStorage(plainPrefix) }), secret);
    const plain = (await allValues(plainPrefix)).bytes;
    for (const where of ['ready', 'delayed', 'dead', 'schedule']) expect(plain.includes(`${secret}-${where}`), where).toBe(true);
  });

  it('a flipped byte in a stored ciphertext: dead-lettered as undecryptable, never handled, and peek shows it', async () => {
    const prefix = server.prefix('crypto-flip');
    const storage = redisStorage(prefix, encryption({ keys: { k1 }, current: 'k1' }));
    const queue = new Queue<Body>('orders', { storage });
    const id = await queue.send({ secret: marker() });
    await queue.send({ secret: 'untouched' });
    const key = bodyKey(prefix);
    const record = (await admin.hget(key, id))!;
    const bodyAt = record.lastIndexOf('\n') + 1;
    expect(record[bodyAt]).toBe('~');
    await admin.hset(key, id, record.slice(0, bodyAt) + flipBase64(record.slice(bodyAt)));

    expect((await queue.peek())[0]!.body).toBeInstanceOf(UnreadableBody);
    const dead = nextDead(queue);
    const handled: string[] = [];
    const consumer = queue.consume((m) => {
      handled.push(m.body.secret);
    });
    const { reason, errors } = await dead;
    await queue.idle();
    await consumer.stop();
    expect(reason).toBe('undecryptable');
    expect(handled).toEqual(['untouched']);
    expect(errors[0]).toBeInstanceOf(UndecryptableError);
    const [copy] = await new Queue<Body>('orders.dlq', { storage }).peek();
    expect([copy!.id, copy!.headers['x-dead-reason'], copy!.body instanceof UnreadableBody]).toEqual([id, 'undecryptable', true]);
  });

  it('a consumer-only process (public keys alone) handles what the signer sent and refuses what an unknown key re-signed', async () => {
    const prefix = server.prefix('crypto-sign');
    const producer = new Queue<Body>('orders', { storage: redisStorage(prefix, signing({ id: 'svcA', privateKey: svcA.privateKey })) });
    const forger = new Queue<Body>('orders', { storage: redisStorage(prefix, signing({ id: 'mallory', privateKey: mallory.privateKey })) });
    await producer.send({ secret: 'pay alice' });
    const forged = await forger.send({ secret: 'pay mallory' });
    const consumerOnly = redisStorage(prefix, signing({ publicKeys: { svcA: svcA.publicKey } }));
    const queue = new Queue<Body>('orders', { storage: consumerOnly });
    const dead = nextDead(queue);
    const handled: string[] = [];
    const consumer = queue.consume((m) => {
      handled.push(m.body.secret);
    });
    const { reason, errors } = await dead;
    await queue.idle();
    await consumer.stop();
    expect(reason).toBe('bad-signature');
    expect(handled).toEqual(['pay alice']);
    expect(errors[0]).toBeInstanceOf(BadSignatureError);
    expect(errors[0]!.message).toContain(`message "${forged}" is signed by key "mallory"`);
    await expect(queue.send({ secret: 'x' })).rejects.toThrow('can only verify');
    // The consumer-only process can still redrive: the stored bytes move as they are.
    const dlq = new Queue<Body>('orders.dlq', { storage: consumerOnly });
    expect(await dlq.redrive()).toBe(1);
    expect((await queue.peek())[0]!.body).toBeInstanceOf(UnreadableBody);
  });

  it('key rotation across restarts: old bodies decrypt, new ones use the current key, a dropped key cannot read', async () => {
    const prefix = server.prefix('crypto-rotate');
    const old = await new Queue<Body>('orders', { storage: redisStorage(prefix, encryption({ keys: { k1 }, current: 'k1' })) }).send({ secret: 'old' });
    const rotated = new Queue<Body>('orders', { storage: redisStorage(prefix, encryption({ keys: { k2, k1 }, current: 'k2' })) });
    const fresh = await rotated.send({ secret: 'new' });
    expect((await rotated.peek()).map((m) => m.body.secret)).toEqual(['old', 'new']);
    const key = bodyKey(prefix);
    const keyIdOf = async (id: string) => {
      const record = (await admin.hget(key, id))!;
      return keyIdOfEnvelope(Buffer.from(record.slice(record.lastIndexOf('\n') + 2), 'base64'));
    };
    expect([await keyIdOf(old), await keyIdOf(fresh)]).toEqual(['k1', 'k2']);
    const withoutK1 = new Queue<Body>('orders', { storage: redisStorage(prefix, encryption({ keys: { k2 }, current: 'k2' })) });
    expect((await withoutK1.peek()).map((m) => m.body instanceof UnreadableBody)).toEqual([true, false]);
  });

  it('a body moved to a dead-letter queue and redriven still decrypts, in another process', async () => {
    const prefix = server.prefix('crypto-redrive');
    const codec = () => [signing({ id: 'svcA', privateKey: svcA.privateKey }), encryption({ keys: { k1 }, current: 'k1' })];
    const secret = marker();
    const orders = new Queue<Body>('orders', { storage: redisStorage(prefix, codec()), maxAttempts: 1 });
    const id = await orders.send({ secret });
    const [m] = await orders.receive({ max: 1, wait: 0 });
    await m!.nack();
    expect((await allValues(prefix)).bytes.includes(secret)).toBe(false);
    const dlq = new Queue<Body>('orders.dlq', { storage: redisStorage(prefix, codec()) });
    expect((await dlq.peek()).map((d) => [d.id, d.body.secret])).toEqual([[id, secret]]);
    expect(await dlq.redrive()).toBe(1);
    const [back] = await new Queue<Body>('orders', { storage: redisStorage(prefix, codec()) }).receive({ max: 1, wait: 0 });
    expect([back!.id, back!.body.secret, back!.headers['x-redrive-count']]).toEqual([id, secret, '1']);
  });
});
