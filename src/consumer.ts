import { ClosedError } from './errors.js';
import type { TimerHandle } from './clock.js';
import { asyncDispose } from './dispose.js';
import type { Message } from './message.js';
import type { ResolvedConsumeOptions } from './options.js';
import type { QueueContext } from './queue-context.js';
import { APPLIED_AT_CALL } from './storage/applied-at-call.js';
import type { ClaimResult } from './storage/storage.js';
import { RateLimiter } from './rate-limiter.js';

/** Handles one message; resolving acks it, throwing (or rejecting) retries it. */
export type Handler<T> = (message: Message<T>) => unknown;

/**
 * The push loop of `queue.consume()`: leases up to `prefetch` messages per storage
 * call and holds at most `max(prefetch, concurrency)` leased messages, runs at most
 * `concurrency` handlers, acks those that resolve (one storage call for the acks
 * of a tick) and retries or dead-letters those that throw.
 *
 * No timer and no promise per idle moment: when the queue is empty the consumer
 * waits on the scheduler's wake-up for its queue. The hot path is callbacks, not
 * async functions: per message a claim's share, the handler's own promise and one
 * reaction to it; the callbacks that need no message are made once per consumer.
 */
export class Consumer<T = unknown> {
  readonly #context: QueueContext<T>;
  readonly #handler: Handler<T>;
  readonly #concurrency: number;
  readonly #prefetch: number;
  /** Most leased messages held at once: running plus waiting for a handler slot. */
  readonly #capacity: number;
  readonly #limiter: RateLimiter | undefined;
  /** Messages leased and not yet settled: running, waiting in `#waiting`, or being acked. */
  #held = 0;
  /** Handler slots in use: a slot is freed once its message is settled (acked, retried or dead-lettered). */
  #running = 0;
  /**
   * Leased messages waiting for a handler slot (or the rate limit), in delivery order:
   * slots `#waitingHead` to `#waitingTail`. Both go back to 0 when it empties, so the
   * array keeps its room instead of being shifted or reallocated.
   */
  #waiting: Message<T>[] = [];
  #waitingHead = 0;
  #waitingTail = 0;
  /**
   * Messages whose handler resolved this tick, acked together on a microtask: slots
   * 0 to `#ackCount`. The array is kept (and its slots cleared) rather than replaced.
   */
  #acks: Message<T>[] = [];
  #ackCount = 0;
  /** A flush of `#acks` is scheduled. */
  #ackFlushDue = false;
  /** Handlers called and not yet returned or settled: while any is, a tick's acks may still grow. */
  #handling = 0;
  /**
   * The storage applies operations in the order they are called (see APPLIED_AT_CALL): an
   * ack frees its slots at once and the next claim goes out in the same turn, behind it,
   * reading the clock once for both. Otherwise the slots are freed when the ack's promise
   * settles. An ack that then fails leaves its messages leased until their lease ends.
   */
  readonly #appliedAtCall: boolean;
  /** Acks made whose promise has not settled yet (with #appliedAtCall); stop() waits for them. */
  #acking = 0;
  /** Runs not in use, each with its callbacks made once (see {@link Run}). */
  #freeRuns: Run<T>[] = [];
  #rateTimer: TimerHandle | undefined = undefined;
  /** A claim is in flight. */
  #claiming = false;
  /** The queue's wake count when the claim in flight started. */
  #claimVersion = 0;
  /** Set when #pump() was called during a claim; its end pumps again. */
  #pumpAgain = false;
  #paused = false;
  #stopping = false;
  #cancelWait: (() => void) | undefined = undefined;
  #drained: (() => void) | undefined = undefined;
  #stopped: Promise<void> | undefined = undefined;
  #detach: () => void;
  #removeAbort: (() => void) | undefined = undefined;

  /** @internal Made by `queue.consume()`. */
  constructor(context: QueueContext<T>, handler: Handler<T>, options: ResolvedConsumeOptions, detach: () => void) {
    this.#context = context;
    this.#handler = handler;
    this.#concurrency = options.concurrency;
    this.#prefetch = options.prefetch;
    this.#capacity = Math.max(options.concurrency, options.prefetch);
    this.#detach = detach;
    this.#limiter = options.rateLimit ? new RateLimiter(options.rateLimit, context.storage.clock) : undefined;
    this.#appliedAtCall = (context.storage as { [APPLIED_AT_CALL]?: boolean })[APPLIED_AT_CALL] === true;
    const { signal } = options;
    if (signal?.aborted) {
      // Stopped before it starts: take nothing.
      void this.stop();
      return;
    }
    if (signal) {
      const onAbort = () => void this.stop();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#removeAbort = () => signal.removeEventListener('abort', onAbort);
    }
    this.#pump();
  }

  /** Messages being handled, or leased and waiting for a handler slot. */
  get active(): number {
    return this.#held;
  }

  get isPaused(): boolean {
    return this.#paused;
  }

  /** Stops taking new messages; handlers already running (and messages already leased) finish. */
  pause(): void {
    this.#paused = true;
    this.#stopWaiting();
  }

  /** Takes messages again after `pause()`. */
  resume(): void {
    if (this.#stopping || !this.#paused) return;
    this.#paused = false;
    this.#pump();
  }

  /** Stops the consumer gracefully, as {@link Consumer.stop}: `await using consumer = queue.consume(...)` stops it at the end of the block. */
  [asyncDispose](): Promise<void> {
    return this.stop();
  }

  /** Stops taking messages and resolves once every running handler has finished and been settled. */
  stop(): Promise<void> {
    if (this.#stopped) return this.#stopped;
    this.#stopping = true;
    this.#stopWaiting();
    this.#removeAbort?.();
    this.#stopped = new Promise<void>((resolve) => {
      if (this.#held === 0 && !this.#claiming && this.#acking === 0) resolve();
      else this.#drained = resolve;
    }).then(() => {
      this.#detach();
    });
    return this.#stopped;
  }

  #stopWaiting(): void {
    this.#cancelWait?.();
    this.#cancelWait = undefined;
  }

  /** Claims more when there is room, nothing stops it, and no claim or wait is pending. `now` when the caller just read the clock. */
  #pump(now?: number): void {
    if (this.#claiming) {
      // A wake or a finished handler while a claim is out: look again once it is back.
      this.#pumpAgain = true;
      return;
    }
    if (this.#paused || this.#stopping || this.#cancelWait || this.#held >= this.#capacity) return;
    const context = this.#context;
    this.#claiming = true;
    this.#pumpAgain = false;
    this.#claimVersion = context.scheduler.version(context.name);
    let work: Promise<void>;
    try {
      const request = context.claimRequestFor(Math.min(this.#prefetch, this.#capacity - this.#held));
      work = context.storage.claim(context.name, request, now ?? context.now()).then(this.#onClaimed, this.#onClaimFailed);
    } catch (error) {
      // A storage that throws instead of rejecting.
      work = Promise.resolve().then(() => this.#onClaimFailed(error));
    }
    context.storage.clock.track?.(work);
  }

  readonly #onClaimed = (result: ClaimResult): void => {
    this.#claiming = false;
    const context = this.#context;
    const { delivered, deadLettered } = result;
    if (deadLettered.length > 0) context.reportDead(deadLettered);
    if (delivered.length === 0) {
      // Woken while claiming: the claim may have missed it, so claim again.
      if (this.#context.scheduler.version(this.#context.name) !== this.#claimVersion) this.#pump();
      else this.#waitForWork();
      this.#checkDrained();
      return;
    }
    // Leased messages are in flight even if stop() came during the claim: run them.
    this.#held += delivered.length;
    for (let i = 0; i < delivered.length; i++) this.#waiting[this.#waitingTail++] = context.message(delivered[i]!);
    this.#dispatch();
    this.#pump();
    this.#checkDrained();
  };

  readonly #onClaimFailed = (error: unknown): void => {
    this.#claiming = false;
    if (error instanceof ClosedError) {
      // The storage was closed under the consumer: nothing more will come, so stop.
      this.#checkDrained();
      void this.stop();
      return;
    }
    this.#context.error(error);
    this.#checkDrained();
    // A storage error: try again when something changes rather than spin.
    this.#waitForWork();
  };

  /** Starts waiting messages while a handler slot is free and the rate limit allows. */
  #dispatch(): void {
    while (this.#running < this.#concurrency && this.#waitingHead < this.#waitingTail) {
      if (this.#limiter) {
        if (this.#rateTimer !== undefined) return;
        const wait = this.#limiter.take();
        if (wait > 0) {
          const clock = this.#context.storage.clock;
          // Ref'd: leased messages wait on it.
          this.#rateTimer = clock.setTimer(() => {
            this.#rateTimer = undefined;
            this.#dispatch();
          }, wait, true);
          return;
        }
      }
      this.#running++;
      const message = this.#waiting[this.#waitingHead]!;
      this.#waiting[this.#waitingHead++] = undefined as unknown as Message<T>;
      if (this.#waitingHead === this.#waitingTail) this.#waitingHead = this.#waitingTail = 0;
      this.#start(message);
    }
  }

  #waitForWork(): void {
    const { scheduler, name } = this.#context;
    if (this.#paused || this.#stopping) return;
    this.#cancelWait = scheduler.onWake(name, this.#onWake);
  }

  readonly #onWake = (): void => {
    this.#cancelWait = undefined;
    this.#pump();
  };

  /** Runs the handler; its outcome settles the message (see #succeeded and #failed). */
  #start(message: Message<T>): void {
    let result: unknown;
    this.#handling++;
    try {
      result = this.#handler(message);
    } catch (error) {
      this.#handling--;
      this.#failed(message, error);
      return;
    }
    if (!isThenable(result)) {
      this.#handling--;
      this.#succeeded(message);
      return;
    }
    const run = this.#freeRuns.pop() ?? new Run(this);
    run.message = message;
    const work = Promise.resolve(result).then(run.resolved, run.rejected);
    this.#context.storage.clock.track?.(work);
  }

  /** @internal A run's handler settled: the run goes back to the pool, then the message is settled. */
  ended(run: Run<T>, error: unknown, failed: boolean): void {
    const message = run.message!;
    run.message = undefined;
    this.#freeRuns.push(run);
    this.#handling--;
    if (failed) this.#failed(message, error);
    else this.#succeeded(message);
  }

  /** The handler resolved: ack with the others of this tick, unless it settled the message itself. */
  #succeeded(message: Message<T>): void {
    if (!message.markSettled()) {
      this.#release(1);
      return;
    }
    this.#acks[this.#ackCount++] = message;
    if (this.#handling === 0) {
      // No other handler can finish in this tick (at concurrency 1, never): ack now.
      this.#flushAcks();
    } else if (!this.#ackFlushDue) {
      // Wait for the handlers finishing in this tick, then ack them together. A settled
      // promise's reaction, not queueMicrotask(): Node wraps each of those in an async resource.
      this.#ackFlushDue = true;
      void RESOLVED.then(this.#flushAcks);
    }
  }

  readonly #flushAcks = (): void => {
    this.#ackFlushDue = false;
    const count = this.#ackCount;
    if (count === 0) return;
    const acks = this.#acks;
    const batch: Message<T>[] = new Array(count);
    for (let i = 0; i < count; i++) {
      batch[i] = acks[i]!;
      acks[i] = undefined as unknown as Message<T>;
    }
    this.#ackCount = 0;
    const now = this.#context.now();
    // (Not `track?.(ackAll(...))`: an optional call skips its arguments when `track` is absent.)
    if (!this.#appliedAtCall) {
      // Slots are freed once the acks are stored: a consumer never holds more leases than its capacity.
      const work = this.#context.ackAll(batch, this.#release, now);
      this.#context.storage.clock.track?.(work);
      return;
    }
    // The leases are gone once ackAll() returns: free the slots and claim again at once.
    this.#acking += count;
    const work = this.#context.ackAll(batch, this.#acked, now);
    this.#context.storage.clock.track?.(work);
    this.#running -= count;
    this.#held -= count;
    this.#dispatch();
    this.#pump(now);
  };

  readonly #acked = (count: number): void => {
    this.#acking -= count;
    this.#checkDrained();
  };

  /** The handler threw or rejected: retry or dead-letter, then free the slot. */
  #failed(message: Message<T>, error: unknown): void {
    const work = this.#fail(message, error);
    this.#context.storage.clock.track?.(work);
  }

  async #fail(message: Message<T>, error: unknown): Promise<void> {
    const context = this.#context;
    try {
      if (message.markSettled()) await context.fail(message, error);
    } catch (storageError) {
      context.error(storageError);
    } finally {
      this.#release(1);
    }
  }

  /** `count` messages are settled: free their slots and take more. */
  readonly #release = (count: number): void => {
    this.#running -= count;
    this.#held -= count;
    this.#dispatch();
    this.#checkDrained();
    this.#pump();
  };

  #checkDrained(): void {
    if (this.#drained && this.#held === 0 && !this.#claiming && this.#acking === 0) {
      const resolve = this.#drained;
      this.#drained = undefined;
      resolve();
    }
  }
}

const RESOLVED = Promise.resolve();

/**
 * Waits for one handler's promise. Its two callbacks are made once and the run is
 * reused for later messages: two closures per message were a good part of the garbage.
 */
class Run<T> {
  message: Message<T> | undefined = undefined;
  readonly resolved: () => void;
  readonly rejected: (error: unknown) => void;

  constructor(consumer: Consumer<T>) {
    this.resolved = () => consumer.ended(this, undefined, false);
    this.rejected = (error: unknown) => consumer.ended(this, error, true);
  }
}

/** What `await` would wait for: an object or function with a `then` method. */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}
