import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  DEAD_LETTER_HEADERS,
  InvalidArgumentError,
  MemoryStorage,
  PocketMQError,
  Queue,
  RemoteError,
  RequestReply,
  Topic,
  ValidationError,
  type StandardSchemaV1,
  type Storage,
} from '../src/index.js';
import { FileStorage } from '../src/file.js';
import { RedisStorage } from '../src/redis.js';
import { TestClock } from '../src/testing.js';
import { redisSkipReason, useRedis, type RedisServer } from './helpers/redis-server.js';

const Signup = z.object({ email: z.string().email(), age: z.number().int() });
const SignupV = v.object({ email: v.pipe(v.string(), v.email()), age: v.pipe(v.number(), v.integer()) });
/** A transform whose output JSON could not hold: the queue stores the input, handlers get the Date. */
const Stamped = z.object({ at: z.iso.datetime().transform((s) => new Date(s)) });

/** A Standard Schema written by hand whose validation answers asynchronously. */
function asyncSchema(isValid: (value: unknown) => boolean): StandardSchemaV1<{ n: number }> {
  return {
    '~standard': {
      version: 1,
      vendor: 'test',
      validate: async (value) => {
        await new Promise((resolve) => setImmediate(resolve));
        return isValid(value) ? { value: value as { n: number } } : { issues: [{ message: 'not allowed', path: ['n'] }] };
      },
    },
  };
}

interface Target {
  name: string;
  /** `clock` undefined: the system clock. */
  make(clock: TestClock | undefined): Promise<{ storage: Storage; cleanup: () => Promise<void> }>;
}

let redis: RedisServer | undefined;
const redisRuns = redisSkipReason() === undefined;
beforeAll(async () => {
  if (redisRuns) redis = await useRedis();
});
afterAll(async () => {
  await redis?.close();
});

const targets: Target[] = [
  { name: 'MemoryStorage', make: async (clock) => ({ storage: new MemoryStorage({ clock }), cleanup: async () => {} }) },
  {
    name: 'FileStorage',
    make: async (clock) => {
      const dir = mkdtempSync(join(tmpdir(), 'pocketmq-schema-'));
      return { storage: new FileStorage({ dir, clock }), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  ...(redisRuns
    ? [{ name: 'RedisStorage', make: async (clock: TestClock | undefined) => ({ storage: new RedisStorage({ url: redis!.url, prefix: redis!.prefix('schema'), clock }), cleanup: async () => {} }) }]
    : []),
];

describe.each(targets)('schemas on $name', ({ make }) => {
  /** `realTime` for request/reply, whose writes wait on FileStorage's timers. */
  async function setup(realTime = false) {
    const clock = realTime ? undefined : new TestClock(Date.UTC(2026, 0, 1));
    const { storage, cleanup } = await make(clock);
    return {
      clock,
      storage,
      async [Symbol.asyncDispose]() {
        await storage.close();
        await cleanup();
      },
    };
  }

  it.each([
    ['zod', Signup],
    ['valibot', SignupV],
  ] as const)('send() of an invalid body rejects with ValidationError and stores nothing (%s)', async (_, schema) => {
    await using s = await setup();
    const signups = new Queue('signups', { storage: s.storage, schema });
    const error = await signups.send({ email: 'nope', age: 1.5 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toBeInstanceOf(PocketMQError);
    const invalid = error as ValidationError;
    expect(invalid.code).toBe('ERR_INVALID_MESSAGE');
    expect(invalid.argument).toBe('body');
    expect(invalid.issues.length).toBe(2);
    expect(invalid.message).toMatch(/^`body` does not match the schema: email: .+; age: .+/);
    expect((await signups.stats()).ready).toBe(0);
    await expect(signups.send({ email: 'a@b.example', age: 30 })).resolves.toEqual(expect.any(String));
    expect((await signups.stats()).ready).toBe(1);
  });

  it('schedule() refuses a body the schema refuses, and stores no schedule', async () => {
    await using s = await setup();
    const signups = new Queue('signups', { storage: s.storage, schema: Signup });
    await expect(signups.schedule('nightly', { every: 60_000 }, { email: 'nope', age: 1 })).rejects.toMatchObject({ code: 'ERR_INVALID_MESSAGE', argument: 'body' });
    expect(await signups.schedules()).toEqual([]);
    await signups.schedule('nightly', { every: 60_000 }, { email: 'a@b.example', age: 1 });
    expect((await signups.schedules()).map((schedule) => schedule.body)).toEqual([{ email: 'a@b.example', age: 1 }]);
  });

  it('sendBatch() with one invalid body rejects naming it and stores none of the batch', async () => {
    await using s = await setup();
    const signups = new Queue('signups', { storage: s.storage, schema: Signup });
    const error = await signups
      .sendBatch([{ body: { email: 'a@b.example', age: 1 } }, { body: { email: 'c@d.example', age: 'x' as unknown as number } }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).argument).toBe('items[1].body');
    expect((await signups.stats()).ready).toBe(0);
  });

  it('stores the body as sent and hands the handler the schema output, transforms applied', async () => {
    await using s = await setup();
    const stamped = new Queue('stamped', { storage: s.storage, schema: Stamped });
    const sent: unknown[] = [];
    stamped.on('sent', (m) => sent.push(m.body));
    await stamped.send({ at: '2026-01-01T10:00:00Z' }, { headers: { kind: 'stamp' }, correlationId: 'c-1', group: 'g' });
    expect((await stamped.peek())[0]!.body).toEqual({ at: '2026-01-01T10:00:00Z' });
    expect(sent).toEqual([{ at: new Date('2026-01-01T10:00:00Z') }]);
    const [msg] = await stamped.receive();
    expect(msg!.body.at).toBeInstanceOf(Date);
    expect(msg!.body.at.getTime()).toBe(Date.UTC(2026, 0, 1, 10));
    expect([msg!.headers.kind, msg!.correlationId, msg!.group, msg!.attempt]).toEqual(['stamp', 'c-1', 'g', 1]);
    await msg!.ack();
  });

  it.each([
    ['zod', Signup],
    ['valibot', SignupV],
  ] as const)('a stored message that fails when claimed is dead-lettered as invalid, never handled (%s)', async (_, schema) => {
    await using s = await setup();
    // Another process, or an older version without the schema, wrote these.
    const writer = new Queue('signups', { storage: s.storage });
    const badId = await writer.send({ email: 'not an email', age: 3 });
    await writer.send({ email: 'ok@example.com', age: 40 });
    const signups = new Queue('signups', { storage: s.storage, schema });
    const errors: unknown[] = [];
    const dead: [string, string][] = [];
    signups.on('error', (e) => errors.push(e));
    signups.on('dead', (m, reason) => dead.push([m.id, reason]));
    const handled: unknown[] = [];
    signups.consume(async (msg) => void handled.push(msg.body));
    await signups.idle();
    expect(handled).toEqual([{ email: 'ok@example.com', age: 40 }]);
    expect(dead).toEqual([[badId, 'invalid']]);
    expect(errors).toHaveLength(1);
    const error = errors[0] as ValidationError;
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.queue).toBe('signups');
    expect(error.messageId).toBe(badId);
    expect(error.argument).toBeUndefined();
    const [copy] = await new Queue('signups.dlq', { storage: s.storage }).peek();
    expect(copy!.id).toBe(badId);
    expect(copy!.body).toEqual({ email: 'not an email', age: 3 });
    expect(copy!.headers[DEAD_LETTER_HEADERS.reason]).toBe('invalid');
    expect(copy!.headers[DEAD_LETTER_HEADERS.error]).toBe(error.message);
    await signups.close();
  });

  it('receive() leaves out what fails the schema and returns the rest of the claim', async () => {
    await using s = await setup();
    const writer = new Queue<unknown>('nums', { storage: s.storage });
    await writer.sendBatch([{ body: { n: 1 } }, { body: { n: 'two' } }, { body: { n: 3 } }]);
    const nums = new Queue('nums', { storage: s.storage, schema: z.object({ n: z.number() }), deadLetter: 'nums.bad' });
    nums.on('error', () => {});
    const messages = await nums.receive({ max: 10 });
    expect(messages.map((m) => m.body.n)).toEqual([1, 3]);
    expect(await nums.ack(messages)).toEqual([true, true]);
    expect((await nums.stats()).ready + (await nums.stats()).inflight).toBe(0);
    expect((await new Queue('nums.bad', { storage: s.storage }).peek()).map((m) => m.body)).toEqual([{ n: 'two' }]);
  });

  it('supports asynchronous validation at send and when claimed', async () => {
    await using s = await setup();
    const schema = asyncSchema((value) => typeof (value as { n?: unknown }).n === 'number' && (value as { n: number }).n > 0);
    const queue = new Queue('async', { storage: s.storage, schema });
    queue.on('error', () => {});
    await expect(queue.send({ n: -1 })).rejects.toThrow(ValidationError);
    await queue.send({ n: 2 });
    await new Queue('async', { storage: s.storage }).send({ n: 0 });
    const messages = await queue.receive({ max: 10 });
    expect(messages.map((m) => m.body)).toEqual([{ n: 2 }]);
    await messages[0]!.ack();
    expect((await new Queue('async.dlq', { storage: s.storage }).peek()).map((m) => m.body)).toEqual([{ n: 0 }]);
  });

  it('a topic checks publishes; its durable subscriptions check what they claim; listeners get the output', async () => {
    await using s = await setup();
    const events = new Topic('stamps', { storage: s.storage, schema: Stamped });
    const errors: unknown[] = [];
    events.on('error', (e) => errors.push(e));
    const handled: unknown[] = [];
    const heard: unknown[] = [];
    const subscription = events.subscribe('audit', async (msg) => void handled.push(msg.body.at));
    events.subscribe((msg) => void heard.push(msg.body.at));
    await subscription.ready;
    await expect(events.publish({ at: 'yesterday' })).rejects.toThrow(ValidationError);
    await expect(events.publishBatch([{ body: { at: '2026-01-01T00:00:00Z' } }, { body: { at: 'soon' } }])).rejects.toMatchObject({ argument: 'items[1].body' });
    await new Topic<unknown>('stamps', { storage: s.storage }).publish({ at: 'written without the schema' });
    await events.publish({ at: '2026-01-02T00:00:00Z' });
    await new Queue(events.subscriptionQueueName('audit'), { storage: s.storage }).idle();
    expect(handled).toEqual([new Date('2026-01-02T00:00:00Z')]);
    expect(heard).toContainEqual(new Date('2026-01-02T00:00:00Z'));
    expect(errors.map((e) => (e as ValidationError).code)).toEqual(['ERR_INVALID_MESSAGE']);
    const dead = await new Queue('stamps:audit.dlq', { storage: s.storage }).peek();
    expect(dead.map((m) => [m.body, m.headers[DEAD_LETTER_HEADERS.reason]])).toEqual([[{ at: 'written without the schema' }, 'invalid']]);
    await events.close();
  });

  it('RequestReply checks requests and replies with their schemas', async () => {
    await using s = await setup(true);
    const price = new RequestReply('price', {
      storage: s.storage,
      schema: z.object({ sku: z.string() }),
      replySchema: z.object({ cents: z.number().int() }).transform((r) => r.cents / 100),
    });
    price.serve(async (req) => ({ cents: req.sku.length * 100 }));
    await expect(price.request({ sku: 'abc' })).resolves.toBe(3);
    await expect(price.request({ sku: 1 } as never)).rejects.toMatchObject({ code: 'ERR_INVALID_MESSAGE', argument: 'body' });
    expect((await price.queue.stats()).ready).toBe(0);

    // A handler whose result fails the reply schema fails its attempt; the requester hears why.
    const wrong = new RequestReply('wrong', { storage: s.storage, maxAttempts: 1, deadLetter: false, replySchema: z.number() });
    wrong.serve(async () => 'not a number' as never);
    const remote = await wrong.request(1).catch((e: unknown) => e);
    expect(remote).toBeInstanceOf(RemoteError);
    expect((remote as RemoteError).remoteName).toBe('ValidationError');

    // A reply from a server without the schema is checked by the requester.
    const loose = new RequestReply('loose', { storage: s.storage });
    loose.serve(async () => 'text');
    const strict = new RequestReply('loose', { storage: s.storage, replySchema: z.number() });
    const error = await strict.request(1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).queue).toBe(strict.replyQueue);
    await Promise.all([price.close(), wrong.close(), loose.close(), strict.close()]);
  });
});

describe('a durable subscription with a schema of its own', () => {
  it('checks its own deliveries with it, instead of the topic\'s, and leaves other subscriptions alone', async () => {
    const clock = new TestClock();
    const storage = new MemoryStorage({ clock });
    const events = new Topic<{ n: unknown }>('numbers', { storage });
    const errors: unknown[] = [];
    events.on('error', (e) => errors.push(e));
    const strict: unknown[] = [];
    const loose: unknown[] = [];
    const a = events.subscribe('strict', async (m) => void strict.push(m.body.n), { schema: z.object({ n: z.number() }) });
    const b = events.subscribe('loose', async (m) => void loose.push(m.body.n));
    await Promise.all([a.ready, b.ready]);
    await events.publishBatch([{ body: { n: 1 } }, { body: { n: 'two' } }]);
    await Promise.all(['numbers:strict', 'numbers:loose'].map((q) => new Queue(q, { storage }).idle()));
    expect(strict).toEqual([1]);
    expect(loose).toEqual([1, 'two']);
    expect(errors).toHaveLength(1);
    expect((await new Queue('numbers:strict.dlq', { storage }).peek()).map((m) => m.body)).toEqual([{ n: 'two' }]);
    await events.close();
  });
});

describe('the schema option', () => {
  it('refuses a value that is not a Standard Schema v1, naming the option', () => {
    const storage = new MemoryStorage();
    for (const schema of [{}, { '~standard': { version: 2, validate: () => ({ value: 1 }) } }, { '~standard': { version: 1 } }, 'z.string()']) {
      const makers: [() => unknown, string][] = [
        [() => new Queue('q', { storage, schema: schema as never }), 'options.schema'],
        [() => new Topic('t', { storage, schema: schema as never }), 'options.schema'],
        [() => new Topic('t', { storage }).subscribe('s', async () => {}, { schema: schema as never }), 'options.schema'],
        [() => new RequestReply('r', { storage, schema: schema as never }), 'options.schema'],
        [() => new RequestReply('r', { storage, replySchema: schema as never }), 'options.replySchema'],
      ];
      for (const [make, argument] of makers) {
        expect(make).toThrow(InvalidArgumentError);
        expect(make).toThrow(`Expected \`${argument}\` to be a Standard Schema v1`);
      }
    }
  });

  it('a schema that throws fails the send with its error, and fails a claimed message as invalid', async () => {
    const storage = new MemoryStorage({ clock: new TestClock() });
    const boom: StandardSchemaV1<unknown> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: () => {
          throw new Error('schema bug');
        },
      },
    };
    const queue = new Queue('throws', { storage, schema: boom });
    await expect(queue.send(1)).rejects.toThrow('schema bug');
    expect((await queue.stats()).ready).toBe(0);
    await new Queue('throws', { storage }).send(1);
    const errors: unknown[] = [];
    queue.on('error', (e) => errors.push(e));
    expect(await queue.receive()).toEqual([]);
    expect((errors[0] as ValidationError).message).toMatch(/the schema threw: schema bug/);
    expect((await new Queue('throws.dlq', { storage }).peek()).map((m) => m.headers[DEAD_LETTER_HEADERS.reason])).toEqual(['invalid']);
  });
});
