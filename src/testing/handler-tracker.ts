import type { WorkInfo } from '../clock.js';
import { PocketMQError } from '../errors.js';

/**
 * A handler that `TestClock.advance()` or `runAll()` stopped waiting for: it showed no
 * sign of progress for `quietMs` of real time while nothing on the clock could explain
 * the wait (it awaits a promise the test resolves later, a real timer, or the outside
 * world). `TestClock.settle()` still waits for it.
 */
export interface StalledWork {
  /** The queue whose message the handler runs; `undefined` for work started outside a consumer. */
  readonly queue: string | undefined;
  /** The message's id; `undefined` for work started outside a consumer. */
  readonly messageId: string | undefined;
  /** The clock's time when the work started. */
  readonly startedAt: number;
  /** Settles when the work does (never rejects). */
  readonly done: Promise<void>;
}

interface Tracked {
  readonly info: WorkInfo | undefined;
  readonly startedAt: number;
  readonly done: Promise<void>;
  stalled: boolean;
}

/** What the tracker needs of its clock. */
export interface TrackerHost {
  /** Simulated time, for {@link StalledWork.startedAt}. */
  now(): number;
  /** Counts every use of the clock (reads, timers): a handler that uses it is making progress. */
  activity(): number;
  /** Promises waiting on the clock (sleeps and ref'd timers): each may explain one running handler. */
  waitsOnClock(): number;
}

/** Tracker settings (the resolved {@link TestClockOptions}). */
export interface TrackerOptions {
  readonly quietMs: number;
  readonly warnStalled: boolean;
}

// Real time and real timers, taken when this module loads: a test runner's fake timers
// (vi.useFakeTimers(), jest.useFakeTimers()) installed later must not stop the TestClock.
const realSetTimeout = globalThis.setTimeout;
const realSetImmediate = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate;
const realPerformance = globalThis.performance;
const realNow = realPerformance ? () => realPerformance.now() : Date.now;
const proc = (globalThis as { process?: { getActiveResourcesInfo?: () => string[]; emitWarning?: (warning: Error) => void } }).process;

/** One turn of the event loop: real I/O callbacks and other macrotasks get to run. */
function turn(): Promise<void> {
  return new Promise((resolve) => {
    if (realSetImmediate) realSetImmediate(resolve);
    else realSetTimeout(resolve, 0);
  });
}

/** A short real pause, for waiting on the outside world without spinning the CPU. */
function pause(): Promise<void> {
  return new Promise((resolve) => realSetTimeout(resolve, 1));
}

/**
 * Libuv requests in flight (a file read or write, a DNS lookup, a connect, a socket
 * write): names from Node's `process.getActiveResourcesInfo()`. Handles (sockets, servers,
 * timers) are left out: they live on while nothing happens.
 */
const IO_REQUEST = /Req(Callback|Promise|Wrap)?$|^(TCP|Pipe)ConnectWrap$|^(Write|Shutdown|Send)Wrap$/;

/** Whether real I/O is under way in this process (Node only; elsewhere, never known). */
function ioInFlight(): boolean {
  const resources = proc?.getActiveResourcesInfo?.();
  if (resources === undefined) return false;
  for (const name of resources) if (IO_REQUEST.test(name)) return true;
  return false;
}

/**
 * Follows the handlers (and storage work) a `TestClock` is told about, and decides when
 * they have settled as far as waiting can help.
 *
 * A promise gives no sign of what it waits on, so the tracker watches for progress:
 * a tracked promise settling or a new one starting, a use of the clock (every storage
 * operation reads it), or a libuv request in flight (a file write, a connect). While
 * there is progress it keeps waiting, so a handler doing real I/O is waited for. A
 * handler that shows none for `quietMs` of real time, while no sleep or timer on the
 * clock could explain its wait, waits on something only the test can give it: it is
 * reported as stalled and no longer waited for by `advance()`/`runAll()`, which would
 * otherwise never resolve. Waits on the clock cost no real time: time moves on.
 */
export class HandlerTracker {
  readonly #host: TrackerHost;
  readonly #options: TrackerOptions;
  readonly #works = new Map<Promise<unknown>, Tracked>();
  /** Bumped when work starts or ends. */
  #changes = 0;

  constructor(host: TrackerHost, options: TrackerOptions) {
    this.#host = host;
    this.#options = options;
  }

  track(work: Promise<unknown>, info: WorkInfo | undefined): void {
    const done = work.then(
      () => this.#end(work),
      () => this.#end(work),
    );
    this.#works.set(work, { info, startedAt: this.#host.now(), done, stalled: false });
    this.#changes++;
  }

  #end(work: Promise<unknown>): void {
    this.#works.delete(work);
    this.#changes++;
  }

  /** Work not yet settled. */
  get pending(): number {
    return this.#works.size;
  }

  /** Stalled work not yet settled, oldest first. */
  stalled(): StalledWork[] {
    const out: StalledWork[] = [];
    for (const tracked of this.#works.values()) {
      if (tracked.stalled) out.push({ queue: tracked.info?.queue, messageId: tracked.info?.messageId, startedAt: tracked.startedAt, done: tracked.done });
    }
    return out;
  }

  /**
   * Waits until tracked work has settled, or waits only on the clock; with `giveUp`,
   * also stops waiting for work that shows no progress for `quietMs` (marking it
   * stalled). Without it (`settle()`), stalled work is waited for too.
   */
  async settle(giveUp: boolean): Promise<void> {
    const host = this.#host;
    let seen = this.#changes + host.activity();
    let quietTurns = 0;
    let quietSince = realNow();
    for (;;) {
      const running = this.#running(giveUp);
      if (running.length > host.waitsOnClock()) {
        // Something runs that no wait on the clock explains: wait for it, a turn at a time.
        const settled = Promise.allSettled(running);
        await Promise.race([settled, quietTurns < 3 ? turn() : pause()]);
      } else {
        await turn();
      }
      const now = this.#changes + host.activity();
      if (now !== seen || ioInFlight()) {
        seen = now;
        quietTurns = 0;
        quietSince = realNow();
        continue;
      }
      quietTurns++;
      const left = this.#running(giveUp).length;
      if (left <= host.waitsOnClock()) {
        // Two quiet turns: what a settled handler's last reactions (an ack, a claim) need.
        if (quietTurns >= 2) return;
      } else if (giveUp && realNow() - quietSince >= this.#options.quietMs) {
        this.#stall();
        return;
      }
    }
  }

  /** Promises of the work still to wait for. */
  #running(skipStalled: boolean): Promise<unknown>[] {
    const out: Promise<unknown>[] = [];
    for (const [work, tracked] of this.#works) if (!skipStalled || !tracked.stalled) out.push(work);
    return out;
  }

  #stall(): void {
    for (const tracked of this.#works.values()) {
      if (tracked.stalled) continue;
      tracked.stalled = true;
      if (this.#options.warnStalled) warnStalled(tracked, this.#options.quietMs);
    }
  }
}

/** The documented warning (code `ERR_HANDLER_STALLED`): a process warning in Node, `console.warn` elsewhere. */
function warnStalled(tracked: Tracked, quietMs: number): void {
  const what = tracked.info ? `The handler of message ${tracked.info.messageId} on queue "${tracked.info.queue}"` : 'Work tracked by the TestClock';
  const message =
    `${what} showed no progress for ${quietMs} ms of real time and waits on nothing the TestClock can fire ` +
    '(a promise the test resolves later, a real timer, the outside world): advance() and runAll() no longer wait for it. ' +
    'Resolve what it waits for, then await clock.settle().';
  const warning = new PocketMQError('ERR_HANDLER_STALLED', message);
  warning.name = 'StalledHandlerWarning';
  if (proc?.emitWarning) proc.emitWarning(warning);
  else console.warn(`${warning.name}: ${message}`);
}
