import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, MemoryStorage, Queue } from '../src/index.js';
import { FileStorage } from '../src/file.js';
import { RedisStorage } from '../src/redis.js';
import { TestClock } from '../src/testing.js';

type ErrorClass = typeof TypeError | typeof RangeError;

function setup() {
  const clock = new TestClock();
  const storage = new MemoryStorage({ clock });
  const queue = new Queue<unknown>('valid', { storage });
  return { clock, storage, queue };
}

/** Runs `fn`, which must throw (not reject), and returns the error. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a synchronous throw');
}

function expectArgumentError(error: unknown, Class: ErrorClass, name: string): void {
  expect(error).toBeInstanceOf(Class);
  expect((error as Error).message).toContain(`\`${name}\``);
}

describe('argument errors', () => {
  it('message - says which argument, what was expected and what was got', async () => {
    const error = thrown(() => new Queue('q', { storage: new MemoryStorage(), maxAttempts: 0 }));
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toBe('Expected `options.maxAttempts` to be an integer >= 1, got 0 (number)');
  });

  describe('new Queue()', () => {
    const cases: [string, unknown, ErrorClass, string][] = [
      ['name', ['', {}], TypeError, 'name'],
      ['name', ['../etc', {}], TypeError, 'name'],
      ['name', ['a..b', {}], TypeError, 'name'],
      ['name', [42, {}], TypeError, 'name'],
      ['options', ['q', 'fast'], TypeError, 'options'],
      ['options', ['q', []], TypeError, 'options'],
      ['options.storage', ['q', { storage: {} }], TypeError, 'options.storage'],
      ['options.visibilityTimeout', ['q', { visibilityTimeout: 0 }], RangeError, 'options.visibilityTimeout'],
      ['options.visibilityTimeout', ['q', { visibilityTimeout: Infinity }], RangeError, 'options.visibilityTimeout'],
      ['options.visibilityTimeout', ['q', { visibilityTimeout: '30s' }], TypeError, 'options.visibilityTimeout'],
      ['options.maxAttempts', ['q', { maxAttempts: 0 }], RangeError, 'options.maxAttempts'],
      ['options.maxAttempts', ['q', { maxAttempts: 2.5 }], TypeError, 'options.maxAttempts'],
      ['options.backoff', ['q', { backoff: 'exponential' }], TypeError, 'options.backoff'],
      ['options.backoff.type', ['q', { backoff: { type: 'linear' } }], TypeError, 'options.backoff.type'],
      ['options.backoff.initial', ['q', { backoff: { initial: -1 } }], RangeError, 'options.backoff.initial'],
      ['options.backoff.factor', ['q', { backoff: { factor: 0.5 } }], RangeError, 'options.backoff.factor'],
      ['options.backoff.factor', ['q', { backoff: { factor: 'x' } }], TypeError, 'options.backoff.factor'],
      ['options.backoff.factor', ['q', { backoff: { factor: Infinity } }], RangeError, 'options.backoff.factor'],
      ['options.backoff.max', ['q', { backoff: { max: Number.NaN } }], TypeError, 'options.backoff.max'],
      ['options.backoff.jitter', ['q', { backoff: { jitter: 'half' } }], TypeError, 'options.backoff.jitter'],
      ['options.backoff.retries', ['q', { backoff: { retries: 3 } }], TypeError, 'options.backoff.retries'],
      ['options.deadLetter', ['q', { deadLetter: true }], TypeError, 'options.deadLetter'],
      ['options.deadLetter', ['q', { deadLetter: '' }], TypeError, 'options.deadLetter'],
      ['options.deadLetter', ['q', { deadLetter: 'q' }], TypeError, 'options.deadLetter'],
      ['options.maxLength', ['q', { maxLength: 0 }], RangeError, 'options.maxLength'],
      ['options.maxLength', ['q', { maxLength: '10' }], TypeError, 'options.maxLength'],
      ['options.overflow', ['q', { overflow: 'drop-newest' }], TypeError, 'options.overflow'],
      ['options.dedupeWindow', ['q', { dedupeWindow: -1 }], RangeError, 'options.dedupeWindow'],
      ['options.maxAttempt', ['q', { maxAttempt: 3 }], TypeError, 'options.maxAttempt'],
    ];
    it.each(cases)('new Queue() - rejects a bad %s with an error naming it (%#)', (_label, args, Class, name) => {
      const [queueName, options] = args as [string, Record<string, unknown> | string];
      const withStorage = typeof options === 'object' && !Array.isArray(options) && !('storage' in options) ? { storage: new MemoryStorage(), ...options } : options;
      expectArgumentError(
        thrown(() => new Queue(queueName, withStorage as never)),
        Class,
        name,
      );
    });

    it('new Queue() - accepts a backoff function and deadLetter: false', () => {
      const queue = new Queue('q', { storage: new MemoryStorage(), backoff: () => 1, deadLetter: false });
      expect(queue.options.deadLetter).toBe(false);
      expect(typeof queue.options.backoff).toBe('function');
    });

    it('new Queue() - applies the documented defaults', () => {
      const queue = new Queue('orders', { storage: new MemoryStorage() });
      expect(queue.options).toEqual({
        visibilityTimeout: 30_000,
        maxAttempts: 3,
        backoff: { type: 'exponential', initial: 1_000, factor: 2, max: 300_000, jitter: 'full' },
        deadLetter: 'orders.dlq',
        maxLength: undefined,
        overflow: 'reject',
        dedupeWindow: 300_000,
      });
    });
  });

  describe('.send() options', () => {
    const cases: [string, unknown, ErrorClass][] = [
      ['options', 'urgent', TypeError],
      ['options.delay', { delay: -1 }, RangeError],
      ['options.delay', { delay: Number.NaN }, TypeError],
      ['options.delay', { delay: Infinity }, RangeError],
      ['options.priority', { priority: 1.5 }, TypeError],
      ['options.priority', { priority: '1' }, TypeError],
      ['options.ttl', { ttl: 0 }, RangeError],
      ['options.dedupeId', { dedupeId: '' }, TypeError],
      ['options.dedupeId', { dedupeId: 7 }, TypeError],
      ['options.group', { group: 7 }, TypeError],
      ['options.correlationId', { correlationId: {} }, TypeError],
      ['options.subject', { subject: '' }, TypeError],
      ['options.headers', { headers: 'a=b' }, TypeError],
      ['options.headers.n', { headers: { n: 1 } }, TypeError],
      ['options.priorty', { priorty: 1 }, TypeError],
    ];
    it.each(cases)('.send() - rejects a bad %s with an error naming it and stores nothing (%#)', async (name, options, Class) => {
      const { queue } = setup();
      let result!: Promise<string>;
      expect(() => {
        result = queue.send('x', options as never);
      }).not.toThrow();
      expectArgumentError(await result.catch((e: unknown) => e), Class, name);
      expect(await queue.stats()).toMatchObject({ ready: 0, delayed: 0, sent: 0 });
    });

    it('.send() - a header named __proto__ stays an own header', async () => {
      const { queue } = setup();
      await queue.send('x', { headers: JSON.parse('{"__proto__":"v"}') as Record<string, string> });
      const [msg] = await queue.receive();
      expect(Object.getOwnPropertyNames(msg!.headers)).toEqual(['__proto__']);
      expect(Object.getPrototypeOf(msg!.headers)).toBe(Object.prototype);
    });
  });

  describe('.sendBatch() items', () => {
    const cases: [string, unknown, ErrorClass][] = [
      ['items', 'a,b', TypeError],
      ['items', { body: 1 }, TypeError],
      ['items[1]', [{ body: 1 }, null], TypeError],
      ['items[1]', [{ body: 1 }, 5], TypeError],
      ['items[0].options', [{ body: 1, options: 'x' }], TypeError],
      ['items[1].options.ttl', [{ body: 1 }, { body: 2, options: { ttl: -5 } }], RangeError],
    ];
    it.each(cases)('.sendBatch() - rejects a bad %s with an error naming it and stores nothing (%#)', async (name, items, Class) => {
      const { queue } = setup();
      let result!: Promise<string[]>;
      expect(() => {
        result = queue.sendBatch(items as never);
      }).not.toThrow();
      expectArgumentError(await result.catch((e: unknown) => e), Class, name);
      expect(await queue.stats()).toMatchObject({ ready: 0, sent: 0 });
    });
  });

  describe('.consume() options', () => {
    it('.consume() - rejects a handler that is not a function', async () => {
      const { queue } = setup();
      expectArgumentError(
        thrown(() => queue.consume('run' as never)),
        TypeError,
        'handler',
      );
    });

    const cases: [string, unknown, ErrorClass][] = [
      ['options', 5, TypeError],
      ['options.concurrency', { concurrency: 0 }, RangeError],
      ['options.concurrency', { concurrency: 1.5 }, TypeError],
      ['options.prefetch', { prefetch: 0 }, RangeError],
      ['options.prefetch', { prefetch: 10_001 }, RangeError],
      ['options.rateLimit', { rateLimit: 10 }, TypeError],
      ['options.rateLimit.max', { rateLimit: { max: 0, interval: 1_000 } }, RangeError],
      ['options.rateLimit.interval', { rateLimit: { max: 1, interval: 0 } }, RangeError],
      ['options.rateLimit.interval', { rateLimit: { max: 1 } }, TypeError],
      ['options.rateLimit.per', { rateLimit: { max: 1, interval: 1, per: 's' } }, TypeError],
      ['options.signal', { signal: { aborted: 'no' } }, TypeError],
      ['options.workers', { workers: 2 }, TypeError],
    ];
    it.each(cases)('.consume() - rejects a bad %s with an error naming it and takes nothing (%#)', async (name, options, Class) => {
      const { queue, clock } = setup();
      await queue.send('x');
      expectArgumentError(
        thrown(() => queue.consume(async () => {}, options as never)),
        Class,
        name,
      );
      await clock.advance(0);
      expect(await queue.stats()).toMatchObject({ ready: 1, inflight: 0, delivered: 0 });
    });
  });

  describe('.receive() options', () => {
    const cases: [string, unknown, ErrorClass][] = [
      ['options', 3, TypeError],
      ['options.max', { max: 0 }, RangeError],
      ['options.max', { max: 1_001 }, RangeError],
      ['options.max', { max: 2.5 }, TypeError],
      ['options.wait', { wait: -1 }, RangeError],
      ['options.wait', { wait: '1s' }, TypeError],
      ['options.signal', { signal: 'stop' }, TypeError],
      ['options.timeout', { timeout: 5 }, TypeError],
    ];
    it.each(cases)('.receive() - rejects a bad %s with an error naming it and leases nothing (%#)', async (name, options, Class) => {
      const { queue } = setup();
      await queue.send('x');
      let result!: Promise<unknown>;
      expect(() => {
        result = queue.receive(options as never);
      }).not.toThrow();
      expectArgumentError(await result.catch((e: unknown) => e), Class, name);
      expect(await queue.stats()).toMatchObject({ ready: 1, inflight: 0 });
    });
  });

  describe('.peek()', () => {
    it.each([
      [0, RangeError],
      [1.5, TypeError],
      ['3', TypeError],
    ] as const)('.peek() - rejects max = %s with an error naming it', async (max, Class) => {
      const { queue } = setup();
      expectArgumentError(await queue.peek(max as never).catch((e: unknown) => e), Class, 'max');
    });
  });

  describe('Message methods', () => {
    async function delivered() {
      const { queue } = setup();
      await queue.send('x');
      const [msg] = await queue.receive();
      return { queue, msg: msg! };
    }

    it.each([
      ['options', 'later', TypeError],
      ['options.delay', { delay: -1 }, RangeError],
      ['options.delay', { delay: 'soon' }, TypeError],
      ['options.when', { when: 1 }, TypeError],
    ] as const)('.nack() - rejects a bad %s with an error naming it and leaves the delivery unsettled (%#)', async (name, options, Class) => {
      const { msg } = await delivered();
      expectArgumentError(await msg.nack(options as never).catch((e: unknown) => e), Class, name);
      expect(msg.settled).toBe(false);
      expect(await msg.ack()).toBe(true);
    });

    it.each([[''], [42]])('.deadLetter() - rejects reason = %j with a TypeError naming it and leaves the delivery unsettled', async (reason) => {
      const { msg } = await delivered();
      const error = await msg.deadLetter(reason as never).catch((e: unknown) => e);
      expectArgumentError(error, TypeError, 'reason');
      expect((error as Error).message).toMatch(/^Expected `reason` to be a non-empty string, got /);
      expect(msg.settled).toBe(false);
      expect(await msg.ack()).toBe(true);
    });

    it.each([
      [0, RangeError],
      [Infinity, RangeError],
      ['1000', TypeError],
    ] as const)('.extend() - rejects ms = %s with an error naming it', async (ms, Class) => {
      const { msg } = await delivered();
      expectArgumentError(await msg.extend(ms as never).catch((e: unknown) => e), Class, 'ms');
      expect(await msg.ack()).toBe(true);
    });
  });

  describe('new MemoryStorage()', () => {
    it.each([
      ['options', 'fast', TypeError],
      ['options.clock', { clock: {} }, TypeError],
      ['options.clock', { clock: Date }, TypeError],
      ['options.clock', { clock: null }, TypeError],
      ['options.dir', { dir: '/tmp' }, TypeError],
    ] as const)('new MemoryStorage() - rejects a bad %s with an error naming it (%#)', (name, options, Class) => {
      expectArgumentError(
        thrown(() => new MemoryStorage(options as never)),
        Class,
        name,
      );
    });
  });

  it.each([
    ['MemoryStorage', () => new MemoryStorage({ clock: null as never })],
    ['FileStorage', () => new FileStorage({ dir: '/tmp/pocketmq-never-opened', clock: null as never })],
    ['RedisStorage', () => new RedisStorage({ url: 'redis://127.0.0.1:1', clock: null as never })],
  ])('new %s() - a null options.clock is an InvalidArgumentError naming options.clock', (_, make) => {
    const error = thrown(make);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).argument).toBe('options.clock');
    expectArgumentError(error, TypeError, 'options.clock');
  });

  describe('TestClock', () => {
    it.each([
      [-1, RangeError],
      [Infinity, RangeError],
      ['0', TypeError],
      [Number.NaN, TypeError],
    ] as const)('new TestClock() - rejects start = %s with an error naming it', (start, Class) => {
      expectArgumentError(
        thrown(() => new TestClock(start as never)),
        Class,
        'start',
      );
    });

    it.each([
      [-1, RangeError],
      [Infinity, RangeError],
      ['5', TypeError],
    ] as const)('.advance() - rejects ms = %s with an error naming it, moving no time', async (ms, Class) => {
      const clock = new TestClock(100);
      expectArgumentError(await clock.advance(ms as never).catch((e: unknown) => e), Class, 'ms');
      expect(clock.now()).toBe(100);
    });

    it.each([
      [99, RangeError],
      [Infinity, RangeError],
      ['200', TypeError],
    ] as const)('.set() - rejects time = %s (the past or not a number) with an error naming it', async (time, Class) => {
      const clock = new TestClock(100);
      expectArgumentError(await clock.set(time as never).catch((e: unknown) => e), Class, 'time');
      expect(clock.now()).toBe(100);
    });
  });
});
