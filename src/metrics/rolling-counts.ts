/** Length of one step of a {@link RollingCounts} window, in ms. */
export const COUNT_STEP_MS = 1_000;
/** Steps a {@link RollingCounts} window holds: the current one and the 59 before it. */
export const COUNT_STEPS = 60;

/**
 * Counts of a few kinds of event over the last 60 s, in 1 s steps: a fixed ring of
 * `COUNT_STEPS` steps per kind, so its memory never depends on the traffic. A step is
 * cleared when the clock moves past it; adding within the current step is two comparisons
 * and an array write (a float `%` per add cost a C call).
 */
export class RollingCounts {
  readonly #kinds: number;
  /** Step-major: the counts of step `s` are `kinds` slots from `s * kinds`. */
  readonly #counts: Float64Array;
  /** The step number (`floor(now / COUNT_STEP_MS)`) the ring's newest slot holds. */
  #step = -Infinity;
  /** Where the newest step's counts start, and the clock times it covers: `add` within them is an array write. */
  #offset = 0;
  #stepStart = Infinity;
  #stepEnd = -Infinity;

  constructor(kinds: number) {
    this.#kinds = kinds;
    this.#counts = new Float64Array(kinds * COUNT_STEPS);
  }

  /** Slots the ring holds, whatever was added (for the constant-memory test). */
  get size(): number {
    return this.#counts.length;
  }

  add(kind: number, count: number, now: number): void {
    if (now < this.#stepStart || now >= this.#stepEnd) this.#moveTo(now);
    this.#counts[this.#offset + kind]! += count;
  }

  /** Makes the step of `now` the one {@link add} writes to. */
  #moveTo(now: number): void {
    const step = Math.floor(now / COUNT_STEP_MS);
    if (step > this.#step) this.#advance(step);
    // A clock that went back counts in its own step while the ring holds it, else in the oldest one it holds.
    const target = Math.max(step, this.#step - COUNT_STEPS + 1);
    this.#offset = (target % COUNT_STEPS) * this.#kinds;
    this.#stepStart = target === step ? step * COUNT_STEP_MS : -Infinity;
    this.#stepEnd = (target + 1) * COUNT_STEP_MS;
  }

  /** The total of `kind` over the steps of the window that ends at `now`. */
  total(kind: number, now: number): number {
    const step = Math.floor(now / COUNT_STEP_MS);
    if (step > this.#step) this.#advance(step);
    let sum = 0;
    for (let s = 0; s < COUNT_STEPS; s++) sum += this.#counts[s * this.#kinds + kind]!;
    return sum;
  }

  /** Clears the steps between the newest one and `step`; a clock that went back keeps the ring as it is. */
  #advance(step: number): void {
    if (step < this.#step) return;
    const stale = Math.min(step - this.#step, COUNT_STEPS);
    for (let i = 1; i <= stale; i++) {
      const slot = ((step - stale + i) % COUNT_STEPS) * this.#kinds;
      this.#counts.fill(0, slot, slot + this.#kinds);
    }
    this.#step = step;
    // The next add finds its slot again.
    this.#stepStart = Infinity;
    this.#stepEnd = -Infinity;
  }
}
