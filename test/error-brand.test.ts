/**
 * `instanceof` across copies of pocketmq's classes, as the ESM and CommonJS builds are.
 * Here a second copy of src/errors.ts is a second module instance (a query string on the
 * import); test/package.test.ts checks the real builds in one process.
 */
import { describe, expect, it } from 'vitest';
import * as errors from '../src/errors.js';
import * as core from '../src/index.js';

const other = (await import(/* @vite-ignore */ `../src/errors.js?copy=${Date.now()}`)) as typeof errors;

/** The error classes the core entry exports: every exported class whose chain reaches PocketMQError. */
const exported = Object.entries(core).filter(
  ([, value]) => typeof value === 'function' && (value === errors.PocketMQError || value.prototype instanceof errors.PocketMQError),
) as [string, typeof errors.PocketMQError][];

describe('error classes across copies of the library', () => {
  it('the second copy is a separate module instance with classes of its own', () => {
    expect(other.ClosedError).not.toBe(errors.ClosedError);
    expect(exported.length).toBeGreaterThanOrEqual(7);
  });

  it('an error of one copy is an instance of the same class and its ancestors in the other, both ways', () => {
    const pairs: [errors.PocketMQError, errors.PocketMQError][] = [
      [new errors.ClosedError('x'), new other.ClosedError('x')],
      [new errors.QueueFullError('q', 1), new other.QueueFullError('q', 1)],
      [new errors.CorruptLogError('f', 0, 'd'), new other.CorruptLogError('f', 0, 'd')],
    ];
    for (const [mine, theirs] of pairs) {
      const name = mine.name as keyof typeof errors;
      expect(theirs).toBeInstanceOf(errors[name]);
      expect(mine).toBeInstanceOf(other[name]);
      expect(theirs).toBeInstanceOf(errors.PocketMQError);
      expect(mine).toBeInstanceOf(other.PocketMQError);
      expect(theirs).toBeInstanceOf(Error);
    }
  });

  it('an error is not an instance of a sibling class of either copy', () => {
    expect(new other.ClosedError('x')).not.toBeInstanceOf(errors.TimeoutError);
    expect(new errors.PocketMQError('ERR_X', 'x')).not.toBeInstanceOf(other.ClosedError);
    expect(new Error('plain')).not.toBeInstanceOf(other.PocketMQError);
    expect(null).not.toBeInstanceOf(other.PocketMQError);
  });

  it('a subclass made outside the library keeps the ordinary instanceof', () => {
    class AppError extends errors.ClosedError {}
    expect(new AppError('x')).toBeInstanceOf(other.ClosedError);
    expect(new errors.ClosedError('x')).not.toBeInstanceOf(AppError);
    expect(new other.ClosedError('x')).not.toBeInstanceOf(AppError);
  });

  it.each(exported.map(([name]) => name))('%s, exported by the core entry, is recognised across copies', (name) => {
    const theirs = Object.create((other as unknown as Record<string, typeof errors.PocketMQError>)[name]!.prototype) as unknown;
    expect(theirs).toBeInstanceOf((core as unknown as Record<string, typeof errors.PocketMQError>)[name]);
  });
});
