import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  AlreadySettledError,
  ClosedError,
  InvalidArgumentError,
  MemoryStorage,
  type Message,
  OutOfRangeError,
  PocketMQError,
  Queue,
  QueueFullError,
  RequestReply,
  Topic,
} from '../src/index.js';
import { TestClock } from '../src/testing.js';

function setup() {
  const clock = new TestClock();
  const storage = new MemoryStorage({ clock });
  const queue = new Queue<string>('tasks', { storage });
  return { clock, storage, queue };
}

async function receiveOne(queue: Queue<string>): Promise<Message<string>> {
  const [msg] = await queue.receive();
  if (!msg) throw new Error('expected a message');
  return msg;
}

describe('errors', () => {
  describe('settling twice', () => {
    it.each([
      ['ack', 'ack', (m: Message<string>) => m.ack()],
      ['ack', 'nack', (m: Message<string>) => m.nack()],
      ['deadLetter', 'nack', (m: Message<string>) => m.nack()],
      ['nack', 'deadLetter', (m: Message<string>) => m.deadLetter('x')],
      ['ack', 'extend', (m: Message<string>) => m.extend(1_000)],
      ['deadLetter', 'extend', (m: Message<string>) => m.extend(1_000)],
    ] as const)('.%s() then .%s() - rejects with AlreadySettledError (ERR_ALREADY_SETTLED)', async (first, second, settleAgain) => {
      const { queue } = setup();
      await queue.send('x');
      const msg = await receiveOne(queue);
      await (first === 'deadLetter' ? msg.deadLetter('first') : msg[first]());
      const error = await settleAgain(msg).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(AlreadySettledError);
      expect(error).toBeInstanceOf(PocketMQError);
      expect(error).toMatchObject({ code: 'ERR_ALREADY_SETTLED', name: 'AlreadySettledError', messageId: msg.id });
      expect((error as Error).message).toContain(`${second}()`);
    });
  });

  describe('argument errors', () => {
    it('options.priority 2 ** 60 - an OutOfRangeError that names the safe-integer bounds', async () => {
      const { queue } = setup();
      const error = await queue.send('x', { priority: 2 ** 60 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RangeError);
      expect(error).toBeInstanceOf(OutOfRangeError);
      expect(error).toBeInstanceOf(PocketMQError);
      expect(error).toMatchObject({ code: 'ERR_OUT_OF_RANGE', argument: 'options.priority', name: 'RangeError' });
      expect((error as Error).message).toBe(
        'Expected `options.priority` to be a safe integer (from -9007199254740991 to 9007199254740991), got 1152921504606847000 (number)',
      );
      expect(await queue.stats()).toMatchObject({ ready: 0 });
    });

    it('an integer option past its upper bound - names the upper bound, not only the lower one', () => {
      expect(() => new Queue('q', { maxAttempts: 2 ** 60 })).toThrow('Expected `options.maxAttempts` to be an integer from 1 to 9007199254740991');
    });

    it.each([
      ['a wrong type', () => new Queue('q', { maxAttempts: 'three' as unknown as number }), 'options.maxAttempts'],
      ['an unknown option', () => new Queue('q', { maxAttemps: 3 } as object), 'options.maxAttemps'],
      ['a bad name', () => new Queue('../x'), 'name'],
    ])('%s - an InvalidArgumentError: a TypeError and a PocketMQError with ERR_INVALID_ARGUMENT', (_, make, argument) => {
      const error = (() => {
        try {
          make();
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(TypeError);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toBeInstanceOf(PocketMQError);
      expect(error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument, name: 'TypeError' });
    });
  });

  describe('PocketMQError brand', () => {
    it('instanceof PocketMQError - holds for an error of another copy of the module (same Symbol.for brand)', () => {
      // What a second copy of errors.ts (the CommonJS build next to the ESM one) makes.
      class OtherCopyError extends Error {
        readonly code = 'ERR_QUEUE_FULL';
      }
      Object.defineProperty(OtherCopyError.prototype, Symbol.for('pocketmq.error'), { value: true });
      expect(new OtherCopyError('full')).toBeInstanceOf(PocketMQError);
    });

    it('instanceof PocketMQError - false for an unbranded error, even with a code, and for non-objects', () => {
      expect(Object.assign(new Error('x'), { code: 'ERR_CLOSED' })).not.toBeInstanceOf(PocketMQError);
      expect(new TypeError('x')).not.toBeInstanceOf(PocketMQError);
      expect((null as unknown) instanceof PocketMQError).toBe(false);
      expect(('ERR' as unknown) instanceof PocketMQError).toBe(false);
    });

    it('instanceof a subclass - still checks the prototype chain', () => {
      expect(new ClosedError()).toBeInstanceOf(ClosedError);
      expect(new ClosedError()).not.toBeInstanceOf(QueueFullError);
      expect(new QueueFullError('q', 1)).toBeInstanceOf(PocketMQError);
    });
  });

  describe('reserved names', () => {
    it('new Queue("ev::subscriptions") - refused with an InvalidArgumentError naming `name`, and publishing keeps working', async () => {
      const clock = new TestClock();
      const storage = new MemoryStorage({ clock });
      const topic = new Topic<string>('ev', { storage });
      const seen: string[] = [];
      const sub = topic.subscribe('audit', async (msg) => void seen.push(msg.body));
      await sub.ready;
      expect(() => new Queue('ev::subscriptions', { storage })).toThrow(InvalidArgumentError);
      expect(() => new Queue('ev::subscriptions', { storage })).toThrow(/Expected `name` to be a name without "::"/);
      await topic.publish('after');
      await clock.advance(0);
      await new Queue('ev:audit', { storage }).idle();
      expect(seen).toEqual(['after']);
      expect(await topic.subscriptions()).toEqual([{ name: 'audit', filter: undefined, queue: 'ev:audit' }]);
      await sub.stop();
    });

    it.each([
      ['Queue', () => new Queue('a::b')],
      ['Topic', () => new Topic('a::b')],
      ['RequestReply', () => new RequestReply('a::b')],
      ['a deadLetter', () => new Queue('a', { deadLetter: 'a::dlq' }), 'options.deadLetter'],
    ])('%s on a name with "::" - refused', (_, make, argument = 'name') => {
      expect(make).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument }));
    });
  });

  it('src/ - has no `new Error(`, `new TypeError(` or `new RangeError(` left: every error is a PocketMQError', () => {
    const src = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');
    const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(20);
    const offenders: string[] = [];
    for (const file of files) {
      readFileSync(join(src, file), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/\bnew (Error|TypeError|RangeError)\(/.test(line)) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(offenders).toEqual([]);
  });
});
