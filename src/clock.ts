import { checkMs, checkSignal, expected } from './validate.js';

/** Handle of a timer set through a {@link Clock}. */
export type TimerHandle = unknown;

/**
 * What a timer is for, when it is not plain work: `'schedule'` is the next tick of a
 * storage's schedules. Schedules tick forever, so a test clock's `runAll()` stops
 * before such a timer instead of running it until its limit.
 */
export type TimerKind = 'schedule';

/**
 * The only source of time and timers in pocketmq. Every storage takes one
 * (default {@link systemClock}); tests pass a `TestClock` from `pocketmq/testing`.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Calls `fn` once, `ms` milliseconds from now. With `keepAlive: false` the timer
   * must not keep the process running (Node's `unref`). `kind` tells what the timer is
   * for ({@link TimerKind}); a clock may ignore it.
   */
  setTimer(fn: () => void, ms: number, keepAlive: boolean, kind?: TimerKind): TimerHandle;
  /** Cancels a timer set with {@link Clock.setTimer}; a handle that already fired is ignored. */
  clearTimer(handle: TimerHandle): void;
  /**
   * Resolves after `ms` milliseconds on this clock, or rejects with `signal.reason` once
   * `signal` aborts. Handler code that waits through `storage.clock.sleep()` (a poll
   * interval, a pause before calling a rate-limited API) runs in simulated time under a
   * `TestClock`, and in real time otherwise. The timer keeps the process alive.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * Optional: called with each handler's promise (and what it works on) so that a test
   * clock can wait for handlers to settle. Real clocks leave it out.
   */
  track?(work: Promise<unknown>, about?: WorkInfo): void;
}

/** What a piece of work given to {@link Clock.track} is: a handler's run of one message. */
export interface WorkInfo {
  /** The queue whose message the handler runs. */
  readonly queue: string;
  /** The message's id. */
  readonly messageId: string;
}

/**
 * {@link Clock.sleep} built on a clock's own timers: validates its arguments (rejecting,
 * never throwing), and sets the timer again when it fired before the time was up
 * (a real timer caps its delay at about 24.8 days).
 */
export function sleepOn(clock: Pick<Clock, 'now' | 'setTimer' | 'clearTimer'>, ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    checkMs('ms', ms);
    checkSignal('signal', signal);
  } catch (error) {
    return Promise.reject(error);
  }
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const until = clock.now() + ms;
    let timer: TimerHandle;
    const onAbort = () => {
      clock.clearTimer(timer);
      reject(signal!.reason);
    };
    const arm = () => {
      timer = clock.setTimer(
        () => {
          if (clock.now() < until) return arm();
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        until - clock.now(),
        true,
      );
    };
    arm();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The longest delay `setTimeout` takes (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The real clock: `Date.now()` and the global timers, unref'd when `keepAlive` is false. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms, keepAlive) {
    // Timers hold a signed 32-bit delay; a longer one would fire at once. Firing
    // early is harmless: the scheduler finds nothing due and sets the timer again.
    const timer = setTimeout(fn, Math.min(ms, MAX_TIMER_MS));
    // Portable unref: Node returns an object with unref(), browsers a number.
    if (!keepAlive && typeof timer === 'object' && timer !== null && 'unref' in timer) {
      (timer as { unref(): void }).unref();
    }
    return timer;
  },
  clearTimer(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
  sleep(ms, signal) {
    return sleepOn(systemClock, ms, signal);
  },
};

/** A {@link Clock} option: `undefined` (the caller's default) or an object with `now`, `setTimer`, `clearTimer` and `sleep`. */
export function checkClock(name: string, value: unknown): Clock | undefined {
  if (value === undefined) return undefined;
  const clock = value as Partial<Clock> | null;
  if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function' || typeof clock.setTimer !== 'function' || typeof clock.clearTimer !== 'function' || typeof clock.sleep !== 'function') {
    throw expected(name, 'a Clock with now(), setTimer(), clearTimer() and sleep()', value);
  }
  return value as Clock;
}
