import { ClosedError } from './errors.js';
import type { TimerHandle } from './clock.js';
import { disposeWith } from './dispose.js';
import { type HandlerContext, RunContext } from './handler-context.js';
import { instrumentation } from './instrumentation.js';
import { LeaseRenewer, type RenewedRun } from './lease-renewer.js';
import type { Message } from './message.js';
import { isThenable } from './is-thenable.js';
import { type ResolvedConsumeOptions, resolveStopOptions, type StopOptions } from './options.js';
import type { QueueContext } from './queue-context.js';
import type { ClaimResult, Receipt } from './storage/storage.js';
import { RateLimiter } from './rate-limiter.js';

/**
 * Handles one message; resolving acks it, throwing (or rejecting) retries it. While it
 * runs, its message's lease is renewed; `context.signal` aborts if the lease is lost or
 * the consumer is stopped with `{ abandon: true }`.
 */
export type Handler<T> = (message: Message<T>, context: HandlerContext) => unknown;

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
  /** When each waiting message was leased (the time its claim was made), slot for slot with `#waiting`. */
  #waitingLeasedAt: number[] = [];
  #waitingHead = 0;
  #waitingTail = 0;
  /**
   * Messages whose handler resolved this tick, acked together on a microtask: slots
   * 0 to `#ackCount`. The array is kept (and its slots cleared) rather than replaced.
   */
  #acks: Message<T>[] = [];
  /** When each message of `#acks` started its handler, slot for slot: the durations `metrics()` reports. */
  #ackStartedAt: number[] = [];
  #ackCount = 0;
  /** A flush of `#acks` is scheduled. */
  #ackFlushDue = false;
  /** Handlers called and not yet returned or settled: while any is, a tick's acks may still grow. */
  #handling = 0;
  /**
   * The storage applies operations in the order they are called (`capabilities.appliesAtCall`): an
   * ack frees its slots at once and the next claim goes out in the same turn, behind it,
   * reading the clock once for both. Otherwise the slots are freed when the ack's promise
   * settles. An ack that then fails leaves its messages leased until their lease ends.
   */
  readonly #appliedAtCall: boolean;
  /**
   * The storage settles a claim when the call returns (`capabilities.settlesAtCall`): the
   * claim's clock reading is the start time of the handlers its callback starts.
   */
  readonly #claimTimeIsStart: boolean;
  /**
   * The storage answers a claim at once (`claimNow`, MemoryStorage) and no schema check
   * waits in between: a claim made behind an ack starts its handlers in the same turn,
   * one promise reaction per message fewer.
   */
  readonly #claimsNow: boolean;
  /** A claim answered at once is being handled: claims made meanwhile go the usual way. */
  #inClaimNow = false;
  /** Acks made whose promise has not settled yet (with #appliedAtCall); stop() waits for them. */
  #acking = 0;
  /** Runs not in use, each with its callbacks made once (see {@link Run}). */
  #freeRuns: Run<T>[] = [];
  /** Every run made, in use or not: the renewer walks them. */
  readonly #runs: Run<T>[] = [];
  readonly #renewer: LeaseRenewer<T>;
  #rateTimer: TimerHandle | undefined = undefined;
  /** A claim is in flight. */
  #claiming = false;
  /** The time the claim in flight was made at: its messages' leases start then. */
  #claimedAt = 0;
  /** The claim in flight, for `stop({ abandon: true })` to wait for. */
  #claimWork: Promise<void> | undefined = undefined;
  /** Set by `stop({ abandon: true })`: the releases of what it gave back, and of what claims bring after it. */
  #abandonReleases: Promise<void>[] | undefined = undefined;
  #abandoned: Promise<void> | undefined = undefined;
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
    this.#appliedAtCall = context.storage.capabilities.appliesAtCall;
    this.#claimTimeIsStart = context.storage.capabilities.settlesAtCall === true;
    this.#claimsNow = context.storage.claimNow !== undefined && !context.options.schema;
    this.#renewer = new LeaseRenewer(context, this.#runs);
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
  [Symbol.asyncDispose](): Promise<void> {
    return disposeWith(() => this.stop());
  }

  /**
   * Stops taking messages. By default it resolves once every running handler has
   * finished and its message is settled (leases are renewed meanwhile).
   *
   * With `{ abandon: true }` it does not wait for handlers: it aborts their `signal`s,
   * gives their messages and those leased but not started back to the queue, ready
   * for another consumer at once (the delivery counts as an attempt), and resolves
   * once the storage has them. A handler that finishes later acks nothing
   * (`msg.ack()` resolves `false`). Rejects with a `TypeError` for invalid options.
   */
  stop(options?: StopOptions): Promise<void> {
    let abandon: boolean;
    try {
      abandon = resolveStopOptions(options).abandon;
    } catch (error) {
      return Promise.reject(error);
    }
    if (!this.#stopped) {
      this.#stopping = true;
      this.#stopWaiting();
      this.#removeAbort?.();
      this.#stopped = new Promise<void>((resolve) => {
        if (this.#held === 0 && !this.#claiming && this.#acking === 0) resolve();
        else this.#drained = resolve;
      }).then(() => {
        this.#renewer.close();
        this.#detach();
      });
    }
    if (!abandon) return this.#stopped;
    return (this.#abandoned ??= this.#abandon());
  }

  async #abandon(): Promise<void> {
    const releases: Promise<void>[] = (this.#abandonReleases = []);
    this.#renewer.close();
    const reason = new ClosedError(`The consumer of queue "${this.#context.name}" was stopped with { abandon: true }`);
    for (const run of this.#runs) {
      const message = run.message;
      if (message === undefined || message.settled) continue;
      run.leaseUntil = Infinity;
      this.#giveBack(message.receipt);
      run.context?.abort(reason);
    }
    // Never handed to a handler: settled here, so nothing else touches them.
    const waiting = this.#waitingTail - this.#waitingHead;
    for (let i = this.#waitingHead; i < this.#waitingTail; i++) {
      const message = this.#waiting[i]!;
      this.#waiting[i] = undefined as unknown as Message<T>;
      message.markSettled();
      this.#giveBack(message.receipt);
    }
    this.#waitingHead = this.#waitingTail = 0;
    this.#held -= waiting;
    this.#checkDrained();
    // A claim in flight gives back what it brings (see #onClaimed).
    if (this.#claimWork) await this.#claimWork;
    await Promise.all(releases);
    this.#detach();
  }

  /** Releases an abandoned lease, ready at once. Never rejects: a failure is an `'error'` event (the lease then runs out). */
  #giveBack(receipt: Receipt): void {
    const context = this.#context;
    const now = context.now();
    let released: Promise<unknown>;
    try {
      released = context.storage.release(context.name, receipt, now, now);
    } catch (error) {
      released = Promise.reject(error);
    }
    const done = released.then(
      () => context.scheduler.wake(context.name),
      (error: unknown) => {
        if (!(error instanceof ClosedError)) context.error(error);
      },
    );
    context.storage.clock.track?.(done);
    this.#abandonReleases!.push(done);
  }

  #stopWaiting(): void {
    this.#cancelWait?.();
    this.#cancelWait = undefined;
  }

  /**
   * Claims more when there is room, nothing stops it, and no claim or wait is pending. `now`
   * comes only from an ack flush, which just read the clock: the one caller that may take a
   * claim answered at once (it runs in no storage call's signals).
   */
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
    let work: Promise<void> | undefined;
    let answered: ClaimResult | undefined;
    try {
      const request = context.claimRequestFor(Math.min(this.#prefetch, this.#capacity - this.#held));
      const claimedAt = (this.#claimedAt = now ?? context.now());
      // Not within a claim answered at once: a synchronous handler would otherwise recurse
      // through the whole queue.
      if (now !== undefined && this.#claimsNow && !this.#inClaimNow) answered = context.storage.claimNow!(context.name, request, claimedAt);
      if (answered === undefined) {
        const claimed = context.storage.claim(context.name, request, claimedAt);
        // With a schema, bodies are checked (and invalid ones dead-lettered) before the consumer holds them.
        work = (context.options.schema ? claimed.then((result) => context.checkClaim(result)) : claimed).then(this.#onClaimed, this.#onClaimFailed);
      }
    } catch (error) {
      // A storage that throws instead of rejecting.
      work = Promise.resolve().then(() => this.#onClaimFailed(error));
    }
    if (work === undefined) {
      this.#inClaimNow = true;
      try {
        this.#onClaimed(answered!);
      } finally {
        this.#inClaimNow = false;
      }
      return;
    }
    this.#claimWork = work;
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
    if (this.#abandonReleases) {
      for (let i = 0; i < delivered.length; i++) this.#giveBack(delivered[i]!.receipt);
      this.#checkDrained();
      return;
    }
    // Leased messages are in flight even if stop() came during the claim: run them.
    this.#held += delivered.length;
    const claimedAt = this.#claimedAt;
    for (let i = 0; i < delivered.length; i++) {
      if (context.unreadable(delivered[i]!)) {
        this.#held--;
        continue;
      }
      this.#waitingLeasedAt[this.#waitingTail] = claimedAt;
      this.#waiting[this.#waitingTail++] = context.message(delivered[i]!);
    }
    this.#dispatch(this.#claimTimeIsStart ? claimedAt : undefined);
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

  /**
   * Starts waiting messages while a handler slot is free and the rate limit allows.
   * `now`: the caller's clock reading, when it just made one; else one is read for the
   * handlers started together (their start time).
   */
  #dispatch(now?: number): void {
    let startedAt = now;
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
      const leasedAt = this.#waitingLeasedAt[this.#waitingHead]!;
      this.#waiting[this.#waitingHead++] = undefined as unknown as Message<T>;
      if (this.#waitingHead === this.#waitingTail) this.#waitingHead = this.#waitingTail = 0;
      this.#start(message, leasedAt, (startedAt ??= this.#context.now()));
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
  #start(message: Message<T>, leasedAt: number, startedAt: number): void {
    let result: unknown;
    const handlerContext = new RunContext();
    const hook = instrumentation.hook;
    this.#handling++;
    try {
      result = hook === undefined ? this.#handler(message, handlerContext) : hook.process(this.#context.name, message, this.#handler, handlerContext);
    } catch (error) {
      this.#handling--;
      this.#failed(message, error, startedAt);
      return;
    }
    if (!isThenable(result)) {
      this.#handling--;
      this.#succeeded(message, startedAt);
      return;
    }
    const run = this.#freeRuns.pop() ?? this.#newRun();
    run.message = message;
    run.context = handlerContext;
    run.startedAt = startedAt;
    this.#renewer.started(run, leasedAt);
    const work = Promise.resolve(result).then(run.resolved, run.rejected);
    this.#context.storage.clock.track?.(work, { queue: this.#context.name, messageId: message.id });
  }

  #newRun(): Run<T> {
    const run = new Run(this);
    this.#runs.push(run);
    return run;
  }

  /** @internal A run's handler settled: the run goes back to the pool, then the message is settled. */
  ended(run: Run<T>, error: unknown, failed: boolean): void {
    const message = run.message!;
    run.message = undefined;
    run.context = undefined;
    this.#freeRuns.push(run);
    this.#handling--;
    if (failed) this.#failed(message, error, run.startedAt);
    else this.#succeeded(message, run.startedAt);
  }

  /** The handler resolved: ack with the others of this tick, unless it settled the message itself. */
  #succeeded(message: Message<T>, startedAt: number): void {
    if (!message.markSettled()) {
      this.#recordDuration(startedAt);
      this.#release(1);
      return;
    }
    this.#ackStartedAt[this.#ackCount] = startedAt;
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
    const durations = this.#context.metrics.durationsAt(now);
    const startedAt = this.#ackStartedAt;
    for (let i = 0; i < count; i++) durations.add(now - startedAt[i]!);
    // (Not `track?.(ackAll(...))`: an optional call skips its arguments when `track` is absent.)
    if (!this.#appliedAtCall) {
      // Slots are freed once the acks are stored: a consumer never holds more leases than its capacity.
      const work = this.#context.ackAll(batch, this.#release, now);
      if (work !== undefined) this.#context.storage.clock.track?.(work);
      return;
    }
    // The leases are gone once ackAll() returns: free the slots and claim again at once.
    this.#acking += count;
    const work = this.#context.ackAll(batch, this.#acked, now);
    if (work !== undefined) this.#context.storage.clock.track?.(work);
    this.#running -= count;
    this.#held -= count;
    this.#dispatch(now);
    this.#pump(now);
    // An ack answered at once came back before the slots were freed: a stop() may be waiting.
    if (work === undefined) this.#checkDrained();
  };

  readonly #acked = (count: number): void => {
    this.#acking -= count;
    this.#checkDrained();
  };

  /** The handler threw or rejected: retry or dead-letter, then free the slot. */
  #failed(message: Message<T>, error: unknown, startedAt: number): void {
    this.#recordDuration(startedAt);
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

  /** A handler that started at `startedAt` has settled now (off the batched ack path). */
  #recordDuration(startedAt: number): void {
    const now = this.#context.now();
    this.#context.metrics.durationsAt(now).add(now - startedAt);
  }

  #checkDrained(): void {
    if (this.#drained && this.#held === 0 && !this.#claiming && this.#acking === 0) {
      const resolve = this.#drained;
      this.#drained = undefined;
      resolve();
    }
  }
}

const RESOLVED = Promise.resolve();

/** Waits for one handler's promise; reused, so its two callbacks are made once, not per message. */
class Run<T> implements RenewedRun<T> {
  message: Message<T> | undefined = undefined;
  context: RunContext | undefined = undefined;
  leaseUntil = 0;
  renewing = false;
  /** When the handler started, on the storage's clock. */
  startedAt = 0;
  readonly resolved: () => void;
  readonly rejected: (error: unknown) => void;

  constructor(consumer: Consumer<T>) {
    this.resolved = () => consumer.ended(this, undefined, false);
    this.rejected = (error: unknown) => consumer.ended(this, error, true);
  }
}
