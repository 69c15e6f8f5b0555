/** Handle of a timer set through a {@link Clock}. */
export type TimerHandle = unknown;

/**
 * The only source of time and timers in pocketmq. Every storage takes one
 * (default {@link systemClock}); tests pass a `TestClock` from `pocketmq/testing`.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Calls `fn` once, `ms` milliseconds from now. With `keepAlive: false` the timer
   * must not keep the process running (Node's `unref`).
   */
  setTimer(fn: () => void, ms: number, keepAlive: boolean): TimerHandle;
  /** Cancels a timer set with {@link Clock.setTimer}; a handle that already fired is ignored. */
  clearTimer(handle: TimerHandle): void;
  /**
   * Optional: called with each handler's promise so that a test clock can wait for
   * handlers to settle. Real clocks leave it out.
   */
  track?(work: Promise<unknown>): void;
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
};
