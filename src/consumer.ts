import PQueue from 'p-queue';
import type { Message } from './message.js';
import type { ResolvedConsumeOptions } from './options.js';
import type { QueueContext } from './queue-context.js';

/** Handles one message; resolving acks it, throwing (or rejecting) retries it. */
export type Handler<T> = (message: Message<T>) => unknown;

/**
 * The push loop of `queue.consume()`: leases up to `prefetch` messages per storage
 * call, runs at most `concurrency` handlers, acks those that resolve (batched per
 * tick) and retries or dead-letters those that throw.
 *
 * No timer and no promise per idle moment: when the queue is empty the consumer
 * waits on the scheduler's wake-up for its queue.
 */
export class Consumer<T = unknown> {
  readonly #context: QueueContext<T>;
  readonly #handler: Handler<T>;
  readonly #concurrency: number;
  readonly #prefetch: number;
  readonly #limiter: PQueue | undefined;
  /** Handlers running, plus messages leased and waiting to run. */
  #active = 0;
  #pumping = false;
  #paused = false;
  #stopping = false;
  #cancelWait: (() => void) | undefined = undefined;
  #drained: (() => void) | undefined = undefined;
  #stopped: Promise<void> | undefined = undefined;
  #detach: () => void;
  readonly #removeAbort: (() => void) | undefined;

  /** @internal Made by `queue.consume()`. */
  constructor(context: QueueContext<T>, handler: Handler<T>, options: ResolvedConsumeOptions, detach: () => void) {
    this.#context = context;
    this.#handler = handler;
    this.#concurrency = options.concurrency;
    this.#prefetch = options.prefetch;
    this.#detach = detach;
    if (options.rateLimit) {
      this.#limiter = new PQueue({ concurrency: Infinity, intervalCap: options.rateLimit.max, interval: options.rateLimit.interval });
    }
    const { signal } = options;
    if (signal) {
      const onAbort = () => void this.stop();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#removeAbort = () => signal.removeEventListener('abort', onAbort);
      if (signal.aborted) queueMicrotask(onAbort);
    }
    this.#pump();
  }

  /** Messages being handled (or leased and about to be). */
  get active(): number {
    return this.#active;
  }

  get isPaused(): boolean {
    return this.#paused;
  }

  /** Stops taking new messages; handlers already running finish. */
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
      if (this.#active === 0 && !this.#pumping) resolve();
      else this.#drained = resolve;
    }).then(() => {
      this.#limiter?.clear();
      this.#detach();
    });
    return this.#stopped;
  }

  #stopWaiting(): void {
    this.#cancelWait?.();
    this.#cancelWait = undefined;
  }

  #pump(): void {
    if (this.#pumping || this.#paused || this.#stopping || this.#cancelWait) return;
    this.#pumping = true;
    const work = this.#fill().then(
      () => {
        this.#pumping = false;
        this.#checkDrained();
      },
      (error: unknown) => {
        this.#pumping = false;
        this.#context.error(error);
        this.#checkDrained();
        // A storage error: try again when something changes rather than spin.
        this.#waitForWork();
      },
    );
    this.#context.storage.clock.track?.(work);
  }

  /** Claims until the handlers are full or the queue is empty. */
  async #fill(): Promise<void> {
    const { scheduler, name } = this.#context;
    while (!this.#paused && !this.#stopping && this.#active < this.#concurrency) {
      const version = scheduler.version(name);
      const want = Math.min(this.#prefetch, this.#concurrency - this.#active);
      const messages = await this.#context.claim(want);
      if (messages.length === 0) {
        // Woken while claiming: the claim may have missed it, so claim again.
        if (scheduler.version(name) !== version) continue;
        this.#waitForWork();
        return;
      }
      // Leased messages are in flight even if stop() came during the claim: run them.
      this.#active += messages.length;
      for (const message of messages) this.#start(message);
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
    const run = this.#limiter ? this.#limiter.add(() => this.#run(message)) : this.#run(message);
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
      this.#active--;
      this.#checkDrained();
      this.#pump();
    }
  }

  #checkDrained(): void {
    if (this.#drained && this.#active === 0 && !this.#pumping) {
      const resolve = this.#drained;
      this.#drained = undefined;
      resolve();
    }
  }
}
