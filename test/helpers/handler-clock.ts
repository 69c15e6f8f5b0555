import { TestClock } from '../../src/test-clock.js';

/**
 * A TestClock on which a handler can take simulated time. `advance()` waits for every
 * tracked promise before it fires the next timer, so a handler that waits for a timer
 * would never finish; `handlerSleep(ms)` leaves the handler's own promise untracked
 * (the next one the consumer tracks) while everything else, storage work included,
 * is still waited for.
 *
 * Call it synchronously at the start of the handler, before any other storage call.
 */
export class HandlerClock extends TestClock {
  #untracked = 0;

  override track(work: Promise<unknown>): void {
    if (this.#untracked > 0) {
      this.#untracked--;
      return;
    }
    super.track(work);
  }

  /** Resolves after `ms` of simulated time; the promise of the handler calling it is not tracked. */
  handlerSleep(ms: number): Promise<void> {
    this.#untracked++;
    return new Promise((resolve) => this.setTimer(resolve, ms));
  }
}
