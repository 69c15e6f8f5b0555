/** Length of one step of a {@link DurationHistogram} window, in ms. */
export const DURATION_STEP_MS = 5_000;
/** Steps a {@link DurationHistogram} window holds: the current one and the 11 before it (60 s). */
export const DURATION_STEPS = 12;

/**
 * Bucket layout, HDR-style: durations below `LINEAR` ms have a bucket per ms; above,
 * each power of two is cut in `SUB_BUCKETS` equal buckets, so a bucket is at most
 * 1/8 of its value wide (a quantile is reported at its bucket's middle: within ±6.25 %).
 * Durations of 2^31 ms (24.8 days) and more share the last bucket.
 */
const SUB_BITS = 3;
const SUB_BUCKETS = 1 << SUB_BITS;
const LINEAR = SUB_BUCKETS * 2;
const LINEAR_BITS = SUB_BITS + 1;
/** Buckets per step: the linear ones, then `SUB_BUCKETS` per power of two from `LINEAR` to 2^31. */
export const DURATION_BUCKETS = LINEAR + (31 - LINEAR_BITS) * SUB_BUCKETS;

/** The bucket of a duration in ms (>= 0). */
export function bucketOf(ms: number): number {
  if (ms < LINEAR) return ms < 0 ? 0 : Math.floor(ms);
  if (ms >= 2 ** 31) return DURATION_BUCKETS - 1;
  const value = Math.floor(ms);
  const exponent = 31 - Math.clz32(value);
  return LINEAR + (exponent - LINEAR_BITS) * SUB_BUCKETS + ((value >>> (exponent - SUB_BITS)) & (SUB_BUCKETS - 1));
}

/** The value a bucket stands for: its ms below `LINEAR`, the middle of its range above. */
export function bucketValue(bucket: number): number {
  if (bucket < LINEAR) return bucket;
  const exponent = Math.floor((bucket - LINEAR) / SUB_BUCKETS) + LINEAR_BITS;
  const width = 2 ** (exponent - SUB_BITS);
  const low = 2 ** exponent + ((bucket - LINEAR) % SUB_BUCKETS) * width;
  return low + width / 2;
}

/** Durations over a window: how many, their mean, quantiles and max, in ms. */
export interface DurationSummary {
  /** Durations recorded in the window. */
  readonly count: number;
  /** Their mean, in ms (0 when `count` is 0). */
  readonly mean: number;
  /** Median, in ms (within ±6.25 %; 0 when `count` is 0). */
  readonly p50: number;
  /** 95th percentile, in ms (within ±6.25 %). */
  readonly p95: number;
  /** 99th percentile, in ms (within ±6.25 %). */
  readonly p99: number;
  /** The longest, in ms (exact). */
  readonly max: number;
}

/**
 * Durations over the last 60 s, in 5 s steps: per step a count per bucket, the sum and
 * the max, in arrays made once, so memory stays the same whatever the traffic.
 * {@link DurationHistogram.at} moves the window to `now` (once per batch of values);
 * {@link DurationHistogram.add} is then a few integer operations and two array writes.
 */
export class DurationHistogram {
  /** Step-major: the buckets of step `s` start at `s * DURATION_BUCKETS`. */
  readonly #buckets = new Uint32Array(DURATION_STEPS * DURATION_BUCKETS);
  readonly #sums = new Float64Array(DURATION_STEPS);
  readonly #maxes = new Float64Array(DURATION_STEPS);
  #step = -Infinity;
  /** Where the current step's buckets start. */
  #offset = 0;
  #slot = 0;

  /** Array slots held, whatever was recorded (for the constant-memory test). */
  get size(): number {
    return this.#buckets.length + this.#sums.length + this.#maxes.length;
  }

  /** Moves the window so that it ends at `now`; later {@link add} calls record into that step. */
  at(now: number): this {
    const step = Math.floor(now / DURATION_STEP_MS);
    if (step > this.#step) this.#advance(step);
    return this;
  }

  /** Records one duration, in ms, into the step of the last {@link at}. */
  add(ms: number): void {
    this.#buckets[this.#offset + bucketOf(ms)]!++;
    this.#sums[this.#slot]! += ms;
    if (ms > this.#maxes[this.#slot]!) this.#maxes[this.#slot] = ms;
  }

  /** Count, mean, quantiles and max of the window that ends at `now`, merged with `others`' (same clock). */
  static summary(histograms: readonly DurationHistogram[], now: number): DurationSummary {
    const merged = new Float64Array(DURATION_BUCKETS);
    let count = 0;
    let sum = 0;
    let max = 0;
    for (const histogram of histograms) {
      histogram.at(now);
      for (let s = 0; s < DURATION_STEPS; s++) {
        sum += histogram.#sums[s]!;
        if (histogram.#maxes[s]! > max) max = histogram.#maxes[s]!;
        const start = s * DURATION_BUCKETS;
        for (let b = 0; b < DURATION_BUCKETS; b++) {
          const n = histogram.#buckets[start + b]!;
          if (n !== 0) {
            merged[b]! += n;
            count += n;
          }
        }
      }
    }
    if (count === 0) return { count: 0, mean: 0, p50: 0, p95: 0, p99: 0, max: 0 };
    const quantile = (q: number): number => {
      const rank = Math.ceil(q * count);
      let seen = 0;
      for (let b = 0; b < DURATION_BUCKETS; b++) {
        seen += merged[b]!;
        if (seen >= rank) return Math.min(bucketValue(b), max);
      }
      return max;
    };
    return { count, mean: sum / count, p50: quantile(0.5), p95: quantile(0.95), p99: quantile(0.99), max };
  }

  #advance(step: number): void {
    const stale = Math.min(step - this.#step, DURATION_STEPS);
    for (let i = 1; i <= stale; i++) {
      const slot = (step - stale + i) % DURATION_STEPS;
      this.#buckets.fill(0, slot * DURATION_BUCKETS, (slot + 1) * DURATION_BUCKETS);
      this.#sums[slot] = 0;
      this.#maxes[slot] = 0;
    }
    this.#step = step;
    this.#slot = step % DURATION_STEPS;
    this.#offset = this.#slot * DURATION_BUCKETS;
  }
}
