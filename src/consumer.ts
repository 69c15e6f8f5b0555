import { ClosedError } from './errors.js';
import type { TimerHandle } from './clock.js';
import type { Message } from './message.js';
import type { ResolvedConsumeOptions } from './options.js';
import type { QueueContext } from './queue-context.js';
import { RateLimiter } from './rate-limiter.js';

/** Handles one message; resolving acks it, throwing (or rejecting) retries it. */
export type Handler<T> = (message: Message<T>) => unknown;

/**
 * The push loop of `queue.consume()`: leases up to `prefetch` messages per storage
 * call and holds at most `max(prefetch, concurrency)` leased messages, runs at most
 * `concurrency` handlers, acks those that resolve (batched per tick) and retries or
 * dead-letters those that throw.
 *
 * No timer and no promise per idle moment: when the queue is empty the consumer
 * waits on the scheduler's wake-up for its queue.
 */
export class Consumer<T = unknown> {
  readonly #context: QueueContext<T>;
  readonly #handler: Handler<T>;
  readonly #concurrency: number;
  readonly #prefetch: number;
  /** Most leased messages held at once: running plus waiting for a handler slot. */
  readonly #capacity: number;
  readonly #limiter: RateLimiter | undefined;
  /** Messages leased and not yet settled: running, or waiting in `#waiting`. */
  #held = 0;
  #running = 0;
  /** Leased messages waiting for a handler slot (or the rate limit), in delivery order. */
  #waiting: Message<T>[] = [];
  #rateTimer: TimerHandle | undefined = undefined;
  #pumping = false;
  /** Set when #pump() was called during a round; the round's end pumps again. */
  #pumpAgain = false;
  /** Set while a pump is queued for after the current run of settled handlers (#pumpSoon). */
  #pumpQueued = false;
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

  /** Stops taking messages and resolves once every running handler has finished and been settled. */
  stop(): Promise<void> {
    if (this.#stopped) return this.#stopped;
    this.#stopping = true;
    this.#stopWaiting();
    this.#removeAbort?.();
    this.#stopped = new Promise<void>((resolve) => {
      if (this.#held === 0 && !this.#pumping) resolve();
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

  #pump(): void {
    if (this.#pumping) {
      // A wake or a finished handler while a round is ending: the round may already
      // have decided to wait or to stop filling, so look again once it has ended.
      this.#pumpAgain = true;
      return;
    }
    if (this.#paused || this.#stopping || this.#cancelWait) return;
    this.#pumping = true;
    const work = this.#fill().then(
      () => {
        this.#pumping = false;
        this.#checkDrained();
        this.#pumpIfAsked();
      },
      (error: unknown) => {
        this.#pumping = false;
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
        this.#pumpIfAsked();
      },
    );
    this.#context.storage.clock.track?.(work);
  }

  #pumpIfAsked(): void {
    if (!this.#pumpAgain) return;
    this.#pumpAgain = false;
    this.#pump();
  }

  /** Claims until the handlers are full or the queue is empty. */
  async #fill(): Promise<void> {
    const { scheduler, name } = this.#context;
    while (!this.#paused && !this.#stopping && this.#held < this.#capacity) {
      const version = scheduler.version(name);
      const want = Math.min(this.#prefetch, this.#capacity - this.#held);
      const messages = await this.#context.claim(want);
      if (messages.length === 0) {
        // Woken while claiming: the claim may have missed it, so claim again.
        if (scheduler.version(name) !== version) continue;
        this.#waitForWork();
        return;
      }
      // Leased messages are in flight even if stop() came during the claim: run them.
      this.#held += messages.length;
      for (const message of messages) this.#waiting.push(message);
      this.#dispatch();
    }
  }

  /** Starts waiting messages while a handler slot is free and the rate limit allows. */
  #dispatch(): void {
    while (this.#running < this.#concurrency && this.#waiting.length > 0) {
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
      this.#start(this.#waiting.shift()!);
    }
  }

  #waitForWork(): void {
    const { scheduler, name } = this.#context;
    if (this.#paused || this.#stopping) return;
    this.#cancelWait = scheduler.onWake(name, () => {
      this.#cancelWait = undefined;
      this.#pump();
    });
  }

  #start(message: Message<T>): void {
    // Not `track?.(this.#run(message))`: an optional call skips its arguments when
    // `track` is absent (every real clock), and the handler would never run.
    const run = this.#run(message);
    this.#context.storage.clock.track?.(run);
  }

  async #run(message: Message<T>): Promise<void> {
    const context = this.#context;
    try {
      await this.#handler(message);
      if (message.markSettled()) await context.ackLater(message);
    } catch (error) {
      if (message.markSettled()) {
        try {
          await context.fail(message, error);
        } catch (storageError) {
          context.error(storageError);
        }
      }
    } finally {
      this.#running--;
      this.#held--;
      this.#dispatch();
      this.#checkDrained();
      this.#pumpSoon();
    }
  }

  /**
   * Pumps once every handler whose ack batch just resolved has given back its slot:
   * a batch of acks settles its handlers one microtask after another, and pumping at
   * the first would claim one message, then the rest, in two storage calls.
   */
  #pumpSoon(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    queueMicrotask(() => {
      this.#pumpQueued = false;
      this.#pump();
    });
  }

  #checkDrained(): void {
    if (this.#drained && this.#held === 0 && !this.#pumping) {
      const resolve = this.#drained;
      this.#drained = undefined;
      resolve();
    }
  }
}
