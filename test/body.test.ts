import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { checkBody } from '../src/body.js';
import { FileStorage } from '../src/file.js';
import { InvalidBodyError, MemoryStorage, PocketMQError, Queue, RemoteError, RequestReply, type Storage, Topic } from '../src/index.js';
import { TestClock } from '../src/testing.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function fileStorage(clock: TestClock, dir = mkdtempSync(join(tmpdir(), 'pmq-body-'))): FileStorage {
  dirs.push(dir);
  return new FileStorage({ dir, clock, fsync: 'never' });
}

const STORAGES: [string, (clock: TestClock) => Storage][] = [
  ['MemoryStorage', (clock) => new MemoryStorage({ clock })],
  ['FileStorage', (clock) => fileStorage(clock)],
];

const circular: Record<string, unknown> = { a: 1 };
circular.self = circular;

/** Bodies JSON refuses or gives back changed, with the path the error names. */
const BAD: [string, unknown, string][] = [
  ['a function', { run: () => 1 }, 'body.run'],
  ['a bigint', { n: 1n }, 'body.n'],
  ['a symbol', [Symbol('s')], 'body[0]'],
  ['a circular reference', circular, 'body.self'],
  ['NaN', { score: Number.NaN }, 'body.score'],
  ['Infinity', { list: [1, Number.POSITIVE_INFINITY] }, 'body.list[1]'],
  ['-Infinity', Number.NEGATIVE_INFINITY, 'body'],
  ['a Date', { at: new Date(0) }, 'body.at'],
  ['a Map', { 'odd key': new Map([[1, 2]]) }, 'body["odd key"]'],
  ['a Set', new Set([1]), 'body'],
  ['a class instance', { deep: [{ x: new (class Point {})() }] }, 'body.deep[0].x'],
  ['undefined in an array', [1, undefined], 'body[1]'],
  ['a hole in an array', [1, , 3], 'body[1]'], // eslint-disable-line no-sparse-arrays
  ['a boxed string', new String('s'), 'body'],
];

describe('message bodies: the JSON rule', () => {
  describe.each(STORAGES)('%s', (_, makeStorage) => {
    it.each(BAD)('.send() of %s - rejects with InvalidBodyError at its path and stores nothing', async (_, body, path) => {
      const queue = new Queue('bodies', { storage: makeStorage(new TestClock()) });
      const error = await queue.send(body).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidBodyError);
      expect(error).toBeInstanceOf(TypeError);
      expect(error).toBeInstanceOf(PocketMQError);
      expect(error).toMatchObject({ code: 'ERR_INVALID_BODY', argument: 'body', path });
      expect((error as Error).message).toContain(`at \`${path}\``);
      expect(await queue.stats()).toMatchObject({ ready: 0, delayed: 0, inflight: 0 });
      await queue.storage.close();
    });

    it('.sendBatch() with one bad body - rejects naming items[i].body and stores none of the batch', async () => {
      const queue = new Queue('bodies', { storage: makeStorage(new TestClock()) });
      await expect(queue.sendBatch([{ body: 1 }, { body: { at: new Date(0) } }])).rejects.toMatchObject({
        code: 'ERR_INVALID_BODY',
        argument: 'items[1].body',
        path: 'items[1].body.at',
      });
      expect(await queue.stats()).toMatchObject({ ready: 0 });
      await queue.storage.close();
    });

    it('.publish() of a bad body - rejects even with no durable subscription', async () => {
      const topic = new Topic('events', { storage: makeStorage(new TestClock()) });
      await expect(topic.publish({ n: Number.NaN })).rejects.toMatchObject({ code: 'ERR_INVALID_BODY', path: 'body.n' });
      await expect(topic.publishBatch([{ body: 1n }])).rejects.toMatchObject({ code: 'ERR_INVALID_BODY', path: 'items[0].body' });
      await topic.storage.close();
    });

    it('.serve() returning a Date - the requester gets a RemoteError naming the result, not a changed value', async () => {
      const clock = new TestClock();
      const rpc = new RequestReply<number, Date>('rpc', { storage: makeStorage(clock), maxAttempts: 1, deadLetter: false });
      rpc.serve(() => new Date(0));
      const error = await rpc.request(1, { timeout: 10_000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RemoteError);
      expect((error as Error).message).toContain('Expected `result` to be JSON');
      await rpc.close();
      await rpc.storage.close();
    });
  });

  describe('MemoryStorage validateBodies', () => {
    it.each([
      ['a TestClock', () => new MemoryStorage({ clock: new TestClock() }), true],
      ['the system clock', () => new MemoryStorage(), false],
      ['the system clock and validateBodies: true', () => new MemoryStorage({ validateBodies: true }), true],
      ['a TestClock and validateBodies: false', () => new MemoryStorage({ clock: new TestClock(), validateBodies: false }), false],
    ])('with %s - checks bodies: %s', async (_, make, checks) => {
      const storage = make();
      expect(storage.capabilities.checksBodies).toBe(checks);
      const queue = new Queue('bodies', { storage });
      const sent = queue.send({ at: new Date(0) });
      if (checks) await expect(sent).rejects.toMatchObject({ code: 'ERR_INVALID_BODY' });
      else await expect(sent).resolves.toEqual(expect.any(String));
      await storage.close();
    });

    it('new MemoryStorage({ validateBodies: "yes" }) - throws naming the option', () => {
      expect(() => new MemoryStorage({ validateBodies: 'yes' as unknown as boolean })).toThrow(/Expected `options.validateBodies` to be a boolean/);
    });
  });

  it('FileStorage - every accepted body reads back equal after a reopen (undefined and symbol-keyed properties left out, as in JSON)', async () => {
    const clock = new TestClock();
    const dir = mkdtempSync(join(tmpdir(), 'pmq-body-'));
    const withSymbolKey = { kept: 2, [Symbol('left out')]: 1 };
    const bodies: unknown[] = [
      null,
      true,
      'text with a lone surrogate \ud800 and "quotes"',
      0,
      -1.5e300,
      [],
      {},
      { nested: { list: [1, 'a', null, { deep: [[false]] }] } },
      Object.assign(Object.create(null) as object, { bare: 1 }),
      { kept: 1, left: undefined },
      withSymbolKey,
      JSON.parse('{"__proto__": { "polluted": true }}') as unknown,
    ];
    const first = fileStorage(clock, dir);
    const queue = new Queue('bodies', { storage: first });
    await queue.sendBatch(bodies.map((body) => ({ body })));
    await first.close();
    const reopened = new Queue('bodies', { storage: fileStorage(clock, dir) });
    const received = await reopened.receive({ max: bodies.length });
    // Symbol keys are not checked (it would double the cost of a check): they are left out, as JSON does.
    expect(received.map((m) => m.body)).toEqual(bodies.map((body) => (body === withSymbolKey ? { kept: 2 } : body)));
    await reopened.storage.close();
  });

  it('-0 - accepted, and reads back as 0 from FileStorage (the one number JSON changes)', async () => {
    const clock = new TestClock();
    const dir = mkdtempSync(join(tmpdir(), 'pmq-body-'));
    const first = fileStorage(clock, dir);
    await new Queue('bodies', { storage: first }).send({ x: -0 });
    await first.close();
    const reopened = new Queue('bodies', { storage: fileStorage(clock, dir) });
    const [msg] = await reopened.receive();
    expect(Object.is((msg?.body as { x: number }).x, 0)).toBe(true);
    await reopened.storage.close();
  });

  describe('checkBody() properties', () => {
    /** What JSON gives back for an accepted body: undefined properties left out, -0 as 0, plain prototypes. */
    function jsonView(value: unknown): unknown {
      if (Array.isArray(value)) return value.map(jsonView);
      if (typeof value === 'object' && value !== null) {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) if (v !== undefined) Object.defineProperty(out, k, { value: jsonView(v), enumerable: true, writable: true, configurable: true });
        return out;
      }
      return Object.is(value, -0) ? 0 : value;
    }

    it('accepts every JSON value', () => {
      fc.assert(fc.property(fc.jsonValue(), (value) => checkBody(value) === undefined));
    });

    it('whatever it accepts, JSON gives back unchanged', () => {
      const anything = fc.anything({
        withBigInt: true,
        withBoxedValues: true,
        withDate: true,
        withMap: true,
        withSet: true,
        withNullPrototype: true,
        withObjectString: true,
        withSparseArray: true,
        withTypedArray: true,
        withUnicodeString: true,
      });
      fc.assert(
        fc.property(anything, (value) => {
          let accepted = true;
          try {
            checkBody(value);
          } catch (error) {
            if (!(error instanceof InvalidBodyError)) throw error;
            accepted = false;
          }
          if (accepted && value !== undefined) expect(isDeepStrictEqual(JSON.parse(JSON.stringify(value)), jsonView(value))).toBe(true);
        }),
        { numRuns: 2_000 },
      );
    });

    it('refuses a JSON value with one bad leaf placed anywhere in it, naming the path to it', () => {
      const bad = fc.constantFrom<unknown>(Number.NaN, Number.POSITIVE_INFINITY, 1n, Symbol('s'), () => 1, new Date(0), new Map(), undefined);
      fc.assert(
        fc.property(fc.array(fc.oneof(fc.string(), fc.nat(5)), { maxLength: 5 }), bad, (keys, leaf) => {
          // Build the path from the leaf outwards: a number makes an array index, a string an object key.
          let body: unknown = leaf;
          let path = '';
          for (const key of [...keys].reverse()) {
            if (typeof key === 'number') {
              body = [...Array<number>(key).fill(0), body];
              path = `[${key}]${path}`;
            } else {
              body = Object.defineProperty({}, key, { value: body, enumerable: true });
              path = `${/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`}${path}`;
            }
          }
          // An undefined property is left out (allowed); only in an array or at the top is it a change.
          const allowed = leaf === undefined && (keys.length === 0 || typeof keys[keys.length - 1] === 'string');
          if (allowed) expect(() => checkBody(body)).not.toThrow();
          else expect(() => checkBody(body)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_BODY', path: `body${path}` }));
        }),
        { numRuns: 2_000 },
      );
    });
  });
});
