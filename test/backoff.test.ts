import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../src/backoff.js';
import { DEFAULTS, MemoryStorage, Queue, type BackoffOptions } from '../src/index.js';
import { TestClock } from '../src/testing.js';

const policy = (options: BackoffOptions): Required<BackoffOptions> => ({ ...DEFAULTS.backoff, ...options });
const never = () => {
  throw new Error('random() must not be called');
};

describe('backoffDelay()', () => {
  it('exponential - after attempt n waits min(max, initial * factor^(n-1))', () => {
    const p = policy({ initial: 1_000, factor: 2, max: 10_000, jitter: 'none' });
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(p, n, undefined, never))).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
  });

  it('exponential - factor 1 gives a fixed delay', () => {
    const p = policy({ initial: 250, factor: 1, jitter: 'none' });
    expect([1, 2, 10].map((n) => backoffDelay(p, n, undefined, never))).toEqual([250, 250, 250]);
  });

  it('exponential - a fractional factor grows the delay by that ratio', () => {
    const p = policy({ initial: 1_000, factor: 1.5, jitter: 'none' });
    expect([1, 2, 3].map((n) => backoffDelay(p, n, undefined, never))).toEqual([1_000, 1_500, 2_250]);
  });

  it('exponential - a huge attempt count stays at max', () => {
    const p = policy({ initial: 1_000, factor: 2, max: 60_000, jitter: 'none' });
    expect(backoffDelay(p, 5_000, undefined, never)).toBe(60_000);
  });

  it('exponential - initial 0 with a factor whose powers overflow stays 0 ms, never NaN', () => {
    const p = policy({ initial: 0, factor: 1e308, jitter: 'none' });
    expect([1, 2, 3, 10].map((n) => backoffDelay(p, n, undefined, never))).toEqual([0, 0, 0, 0]);
    const jittered = policy({ initial: 0, factor: 1e308, jitter: 'equal' });
    expect(backoffDelay(jittered, 3, undefined, () => 0.5)).toBe(0);
  });

  it('exponential - a factor whose powers overflow caps the delay at max', () => {
    const p = policy({ initial: 1, factor: 1e308, max: 60_000, jitter: 'none' });
    expect([1, 2, 3].map((n) => backoffDelay(p, n, undefined, never))).toEqual([1, 60_000, 60_000]);
  });

  it("jitter 'full' - is uniform in [0, d]", () => {
    const p = policy({ initial: 1_000, factor: 2, jitter: 'full' });
    expect(backoffDelay(p, 2, undefined, () => 0)).toBe(0);
    expect(backoffDelay(p, 2, undefined, () => 0.5)).toBe(1_000);
    expect(backoffDelay(p, 2, undefined, () => 0.999_999_9)).toBe(2_000);
  });

  it("jitter 'equal' - is d/2 plus uniform in [0, d/2]", () => {
    const p = policy({ initial: 1_000, factor: 2, jitter: 'equal' });
    expect(backoffDelay(p, 2, undefined, () => 0)).toBe(1_000);
    expect(backoffDelay(p, 2, undefined, () => 0.5)).toBe(1_500);
    expect(backoffDelay(p, 2, undefined, () => 0.999_999_9)).toBe(2_000);
  });

  it("jitter 'none' - is exactly d and draws no random number", () => {
    const p = policy({ initial: 700, factor: 3, jitter: 'none' });
    expect(backoffDelay(p, 3, undefined, never)).toBe(6_300);
  });

  it('jitter - is applied after the cap', () => {
    const p = policy({ initial: 1_000, factor: 10, max: 5_000, jitter: 'full' });
    expect(backoffDelay(p, 4, undefined, () => 0.999_999_9)).toBe(5_000);
  });

  it('defaults - exponential, 1 s, factor 2, max 5 min, full jitter', () => {
    expect(DEFAULTS.backoff).toEqual({ type: 'exponential', initial: 1_000, factor: 2, max: 300_000, jitter: 'full' });
    expect(backoffDelay(DEFAULTS.backoff, 3, undefined, () => 0.999_999_9)).toBe(4_000);
  });

  it('function - is called with the attempt and the error, and its value is the delay', () => {
    const calls: [number, unknown][] = [];
    const error = new Error('x');
    const fn = (attempt: number, err: unknown) => {
      calls.push([attempt, err]);
      return attempt * 7;
    };
    expect(backoffDelay(fn, 3, error)).toBe(21);
    expect(calls).toEqual([[3, error]]);
  });

  it.each([
    ['a negative number', -1],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a string', '100'],
    ['undefined', undefined],
  ])('function - returning %s throws a RangeError naming the backoff function', (_label, value) => {
    expect(() => backoffDelay(() => value as number, 1, undefined)).toThrow(RangeError);
    expect(() => backoffDelay(() => value as number, 1, undefined)).toThrow(/backoff function/);
  });
});

describe('backoff in a Queue', () => {
  it('backoff - a function policy sets the retry delay of a failing handler', async () => {
    const clock = new TestClock();
    const queue = new Queue('b', { storage: new MemoryStorage({ clock }), backoff: (attempt) => attempt * 100 });
    const times: number[] = [];
    queue.consume(async () => {
      times.push(clock.now());
      throw new Error('again');
    });
    await queue.send('x');
    await clock.advance(1_000);
    expect(times).toEqual([0, 100, 300]);
  });

  it('backoff - a function that returns a bad value reports an error and retries at once, never losing the message', async () => {
    const clock = new TestClock();
    const queue = new Queue('b', { storage: new MemoryStorage({ clock }), backoff: () => -5 });
    const errors: Error[] = [];
    queue.on('error', (error) => errors.push(error));
    const attempts: number[] = [];
    queue.consume(async (msg) => {
      attempts.push(msg.attempt);
      if (msg.attempt === 1) throw new Error('first');
    });
    await queue.send('x');
    await clock.advance(0);
    expect(attempts).toEqual([1, 2]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(RangeError);
    expect(await queue.stats()).toMatchObject({ acked: 1, retried: 1 });
  });

  it('backoff - a function that throws reports the error and retries at once', async () => {
    const clock = new TestClock();
    const queue = new Queue('b', {
      storage: new MemoryStorage({ clock }),
      backoff: () => {
        throw new Error('policy bug');
      },
    });
    const errors: string[] = [];
    queue.on('error', (error) => errors.push(error.message));
    const attempts: number[] = [];
    queue.consume(async (msg) => {
      attempts.push(msg.attempt);
      if (msg.attempt === 1) throw new Error('first');
    });
    await queue.send('x');
    await clock.advance(0);
    expect(attempts).toEqual([1, 2]);
    expect(errors).toEqual(['policy bug']);
  });
});
