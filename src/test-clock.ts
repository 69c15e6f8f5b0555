import { type Clock, type TimerHandle, type TimerKind, type WorkInfo, sleepOn } from './clock.js';
import { RunLimitError } from './errors.js';
import { HandlerTracker, type StalledWork } from './testing/handler-tracker.js';
import { checkInteger, checkKeys, checkMs, checkObject, expected } from './validate.js';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  /** Set with `keepAlive`: someone awaits it (a sleep, a receive's wait, a request's timeout). */
  readonly awaited: boolean;
  /** A schedule's tick: `runAll()` without `until` stops before it. */
  readonly schedule: boolean;
}

/** Options of {@link TestClock}. */
export interface TestClockOptions {
  /**
   * How long, in ms of real time, `advance()` and `runAll()` wait for a running handler
   * that shows no progress (no storage call, no use of the clock, no I/O request in
   * flight) and waits on no timer of this clock, before they report it as stalled and
   * stop waiting for it. Generous enough for a round trip to a local server.
   * @defaultValue `100`
   */
  quietMs?: number;
  /**
   * Emit a process warning (code `ERR_HANDLER_STALLED`; `console.warn` outside Node) the
   * first time a handler is found stalled.
   * @defaultValue `true`
   */
  warnStalled?: boolean;
}

/** Options of {@link TestClock.runAll}. */
export interface RunAllOptions {
  /**
   * Fire every timer due by this time (ms since the epoch), then leave the clock at it,
   * as {@link TestClock.set} does. Without it, `runAll()` stops when no timer is left.
   */
  until?: number;
  /**
   * Most timers to fire before giving up with {@link RunLimitError}: a retry loop or a
   * poll that never ends would otherwise run forever.
   * @defaultValue `10_000`
   */
  limit?: number;
}

/** What {@link TestClock.advance}, {@link TestClock.set} and {@link TestClock.runAll} did. */
export interface RunReport {
  /** Timers fired. */
  readonly fired: number;
  /**
   * Handlers still running that wait on something outside the clock and the storage (a
   * promise the test resolves later, a real timer): no longer waited for. Resolve what
   * they wait for, then `await clock.settle()`. Empty when every handler settled or
   * waits on this clock.
   */
  readonly stalled: readonly StalledWork[];
}

/** The defaults of {@link TestClockOptions} and {@link RunAllOptions}. */
export const TEST_CLOCK_DEFAULTS = {
  quietMs: 100,
  warnStalled: true,
  limit: 10_000,
} as const;

/**
 * A clock for tests: time moves only when you say so. Give it to a storage
 * (`new MemoryStorage({ clock })`, `new FileStorage({ dir, clock })`) and every timer of
 * that storage runs on it.
 *
 * ```ts
 * const clock = new TestClock();
 * const queue = new Queue('jobs', { storage: new MemoryStorage({ clock }) });
 * await queue.send('x', { delay: 5_000 });
 * await clock.advance(5_000); // the delayed message is delivered and its handler has finished
 * await clock.runAll();       // or: fire everything still due (retries, leases, TTLs), in order
 * ```
 *
 * Moving time never deadlocks a test: a handler waiting on something only the test can
 * give it is reported in the returned {@link RunReport} (and by a warning), not waited
 * for; {@link TestClock.settle} waits for it once the test has given it.
 */
export class TestClock implements Clock {
  #now: number;
  #seq = 0;
  #timers = new Map<number, Timer>();
  #awaited = 0;
  #activity = 0;
  readonly #tracker: HandlerTracker;

  /**
   * @param start The initial time in ms since the epoch. @defaultValue `0`
   * @param options See {@link TestClockOptions}.
   */
  constructor(start = 0, options?: TestClockOptions) {
    this.#now = checkMs('start', start);
    const o = options === undefined ? {} : checkObject('options', options);
    checkKeys('options', o, ['quietMs', 'warnStalled']);
    const quietMs = o.quietMs === undefined ? TEST_CLOCK_DEFAULTS.quietMs : checkMs('options.quietMs', o.quietMs);
    if (o.warnStalled !== undefined && typeof o.warnStalled !== 'boolean') throw expected('options.warnStalled', 'a boolean', o.warnStalled);
    const warnStalled = (o.warnStalled as boolean | undefined) ?? TEST_CLOCK_DEFAULTS.warnStalled;
    this.#tracker = new HandlerTracker(
      {
        now: () => this.#now,
        activity: () => this.#activity,
        waitsOnClock: () => this.#awaited,
      },
      { quietMs, warnStalled },
    );
  }

  now(): number {
    this.#activity++;
    return this.#now;
  }

  /** {@link Clock.setTimer}: the timer fires when `advance()`, `set()` or `runAll()` reaches its time. */
  setTimer(fn: () => void, ms: number, keepAlive = false, kind?: TimerKind): TimerHandle {
    this.#activity++;
    const seq = ++this.#seq;
    this.#timers.set(seq, { at: this.#now + Math.max(0, ms), seq, fn, awaited: keepAlive, schedule: kind === 'schedule' });
    if (keepAlive) this.#awaited++;
    return seq;
  }

  /** {@link Clock.clearTimer}. */
  clearTimer(handle: TimerHandle): void {
    this.#activity++;
    this.#remove(handle as number);
  }

  #remove(seq: number): void {
    const timer = this.#timers.get(seq);
    if (timer === undefined) return;
    this.#timers.delete(seq);
    if (timer.awaited) this.#awaited--;
  }

  /**
   * Resolves once the clock has been moved `ms` forward (by `advance()`, `set()` or
   * `runAll()`), or rejects with `signal.reason` when `signal` aborts. A handler
   * sleeping on the storage's clock is not stalled: time moves on to wake it.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }

  /** @internal Consumers report each handler's promise here so that moving time can wait for it. */
  track(work: Promise<unknown>, about?: WorkInfo): void {
    this.#activity++;
    this.#tracker.track(work, about);
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
   * A handler that waits on something outside the clock and the storage (a gate the
   * test opens after `advance()` resolves) is waited for only until it has shown no
   * progress for `quietMs` of real time; it is then reported in {@link RunReport.stalled}
   * and with a warning. Handlers doing real I/O (a file write, a local HTTP call) are
   * waited for while the I/O goes on.
   */
  async advance(ms: number): Promise<RunReport> {
    checkMs('ms', ms);
    return this.#run(this.#now + ms, Infinity);
  }

  /** Moves time to `time` (not backwards), like {@link TestClock.advance}. */
  async set(time: number): Promise<RunReport> {
    checkMs('time', time, this.#now);
    return this.#run(time, Infinity);
  }

  /**
   * Fires pending timers in time order (delays, retries, lease ends, TTLs, sleeps),
   * letting handlers settle after each, until no timer is left: a week of retries runs
   * to its dead letter at once. With `until`, fires only what falls due by then and
   * leaves the clock at `until`. Schedules tick forever: without `until` it stops
   * before the next schedule tick (a timer set with kind `'schedule'`), whatever else
   * is pending after it; give `until` to run schedules.
   *
   * It also stops when every handler still running is stalled (see
   * {@link TestClock.advance}): moving time could only renew their leases. Throws
   * {@link RunLimitError} after `limit` timers, so a loop that never ends fails the test
   * instead of hanging it.
   */
  async runAll(options?: RunAllOptions): Promise<RunReport> {
    const o = options === undefined ? {} : checkObject('options', options);
    checkKeys('options', o, ['until', 'limit']);
    const until = o.until === undefined ? undefined : checkMs('options.until', o.until, this.#now);
    const limit = o.limit === undefined ? TEST_CLOCK_DEFAULTS.limit : checkInteger('options.limit', o.limit, 1);
    return this.#run(until, limit);
  }

  /**
   * Waits until handlers and storage work started so far have settled, without moving
   * time, stalled handlers included: call it once the test has resolved what they wait
   * for. Handlers sleeping on this clock are not waited for (time does not move here).
   */
  async settle(): Promise<void> {
    await this.#tracker.settle(false);
  }

  /** Fires timers due by `target` (all, when `undefined`), at most `limit` of them. */
  async #run(target: number | undefined, limit: number): Promise<RunReport> {
    const tracker = this.#tracker;
    let fired = 0;
    await tracker.settle(true);
    for (;;) {
      const next = this.#earliest();
      if (!next || (target !== undefined && next.at > target)) break;
      if (target === undefined && next.schedule) break;
      // Only stalled handlers left, and no end time: their lease renewals would tick forever.
      if (target === undefined && tracker.pending > 0 && tracker.stalled().length === tracker.pending) break;
      if (fired >= limit) throw new RunLimitError(limit, this.#now);
      this.#remove(next.seq);
      if (next.at > this.#now) this.#now = next.at;
      fired++;
      next.fn();
      await tracker.settle(true);
    }
    if (target !== undefined && target > this.#now) {
      this.#now = target;
      await tracker.settle(true);
    }
    return { fired, stalled: tracker.stalled() };
  }

  #earliest(): Timer | undefined {
    let best: Timer | undefined;
    for (const timer of this.#timers.values()) {
      if (!best || timer.at < best.at || (timer.at === best.at && timer.seq < best.seq)) best = timer;
    }
    return best;
  }
}
