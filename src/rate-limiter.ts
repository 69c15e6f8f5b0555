import type { Clock } from './clock.js';
import type { RateLimit } from './options.js';

/**
 * At most `max` starts in any `interval` ms (a sliding window), timed on the
 * storage's clock so that a TestClock drives it like every other timer.
 * p-queue's interval cap reads `Date.now()` and sets its own timers, which a
 * TestClock cannot move.
 */
export class RateLimiter {
  readonly #max: number;
  readonly #interval: number;
  readonly #clock: Clock;
  /** Times of the last `max` starts, a ring whose oldest entry is at `#oldest`. */
  readonly #starts: number[] = [];
  #oldest = 0;

  constructor(limit: RateLimit, clock: Clock) {
    this.#max = limit.max;
    this.#interval = limit.interval;
    this.#clock = clock;
  }

  /** Records a start and returns 0 when one is allowed now; otherwise the ms until one is. */
  take(): number {
    const now = this.#clock.now();
    if (this.#starts.length < this.#max) {
      this.#starts.push(now);
      return 0;
    }
    const wait = this.#starts[this.#oldest]! + this.#interval - now;
    if (wait > 0) return wait;
    this.#starts[this.#oldest] = now;
    this.#oldest = (this.#oldest + 1) % this.#max;
    return 0;
  }
}
