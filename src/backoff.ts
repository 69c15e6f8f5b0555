import { OutOfRangeError } from './errors.js';
import type { BackoffFunction, BackoffOptions } from './options.js';

/**
 * Delay before the next attempt after attempt `attempt` (1-based) failed:
 * `min(max, initial * factor^(attempt-1))`, then jitter. `random` is injectable for tests.
 * Always a finite number >= 0: a function's other answers throw (the caller retries at
 * once and reports the error); options can only give finite values (see resolveBackoff).
 */
export function backoffDelay(
  policy: Required<BackoffOptions> | BackoffFunction,
  attempt: number,
  error: unknown,
  random: () => number = Math.random,
): number {
  if (typeof policy === 'function') {
    const ms = policy(attempt, error);
    // Infinity is refused too: a retry that never falls due would hold its FIFO group forever.
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw new OutOfRangeError('backoff', `Expected the backoff function to return a finite number of milliseconds >= 0, got ${String(ms)}`);
    }
    return ms;
  }
  // factor^(attempt-1) overflows to Infinity after enough attempts; with initial 0 the
  // product is NaN (0 × ∞), which is 0 ms, and with initial > 0 it is Infinity, which is max.
  const grown = policy.initial * policy.factor ** (attempt - 1);
  const d = grown > policy.max ? policy.max : grown >= 0 ? grown : 0;
  switch (policy.jitter) {
    case 'full':
      return Math.floor(random() * (d + 1));
    case 'equal':
      return Math.floor(d / 2 + random() * (d / 2 + 1));
    default:
      return d;
  }
}
