import type { Clock, TimerHandle } from './clock.js';
import { checkMs } from './validate.js';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/** Lets the event loop turn once: real I/O and other macrotasks get to run. Not a wait on time. */
function turn(): Promise<void> {
  return new Promise((resolve) => {
    const g = globalThis as { setImmediate?: (fn: () => void) => unknown };
    if (g.setImmediate) g.setImmediate(resolve);
    else setTimeout(resolve, 0);
  });
}

/**
 * A clock for tests: time moves only when you say so. Give it to a storage
 * (`new MemoryStorage({ clock })`) and every timer of that storage runs on it.
 *
 * ```ts
 * const clock = new TestClock();
 * const queue = new Queue('jobs', { storage: new MemoryStorage({ clock }) });
 * await queue.send('x', { delay: 5_000 });
 * await clock.advance(5_000); // the delayed message is delivered and its handler has finished
 * ```
 */
export class TestClock implements Clock {
  #now: number;
  #seq = 0;
  #timers = new Map<number, Timer>();
  #tracked = new Set<Promise<unknown>>();

  /** @param start The initial time in ms since the epoch. @defaultValue `0` */
  constructor(start = 0) {
    this.#now = checkMs('start', start);
  }

  now(): number {
    return this.#now;
  }

  /** {@link Clock.setTimer}: the timer fires when `advance()` or `set()` reaches its time. */
  setTimer(fn: () => void, ms: number): TimerHandle {
    const seq = ++this.#seq;
    this.#timers.set(seq, { at: this.#now + Math.max(0, ms), seq, fn });
    return seq;
  }

  /** {@link Clock.clearTimer}. */
  clearTimer(handle: TimerHandle): void {
    this.#timers.delete(handle as number);
  }

  /** @internal Consumers report each handler's promise here so `advance()` can wait for it. */
  track(work: Promise<unknown>): void {
    this.#tracked.add(work);
    const untrack = () => this.#tracked.delete(work);
    work.then(untrack, untrack);
  }

  /** Timers not yet fired. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due, in order, each
   * at its own time; after each, and at the end, waits until handlers and storage
   * work have settled.
   *
   * Because it waits for running handlers, a handler that awaits something only the
   * test does later (a gate the test opens after `advance()` resolves) keeps it
   * from resolving: open the gate first, or don't await `advance()` until it is open.
   */
  async advance(ms: number): Promise<void> {
    checkMs('ms', ms);
    await this.#runUntil(this.#now + ms);
  }

  /** Moves time to `time` (not backwards), like {@link TestClock.advance}. */
  async set(time: number): Promise<void> {
    checkMs('time', time, this.#now);
    await this.#runUntil(time);
  }

  /** Waits until handlers and storage work started so far have settled, without moving time. */
  async settle(): Promise<void> {
    await this.#runUntil(this.#now);
  }

  async #runUntil(target: number): Promise<void> {
    await this.#settle();
    for (;;) {
      const next = this.#earliest();
      if (!next || next.at > target) break;
      this.#timers.delete(next.seq);
      if (next.at > this.#now) this.#now = next.at;
      next.fn();
      await this.#settle();
    }
    this.#now = target;
    await this.#settle();
  }

  #earliest(): Timer | undefined {
    let best: Timer | undefined;
    for (const timer of this.#timers.values()) {
      if (!best || timer.at < best.at || (timer.at === best.at && timer.seq < best.seq)) best = timer;
    }
    return best;
  }

  /** Until nothing tracked is pending and a full turn of the event loop started nothing new. */
  async #settle(): Promise<void> {
    for (let quiet = 0; quiet < 2; ) {
      if (this.#tracked.size > 0) {
        quiet = 0;
        await Promise.allSettled([...this.#tracked]);
      }
      await turn();
      if (this.#tracked.size === 0) quiet++;
    }
  }
}
