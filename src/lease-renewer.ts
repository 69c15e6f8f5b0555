import type { TimerHandle } from './clock.js';
import { ClosedError, LeaseLostError } from './errors.js';
import type { RunContext } from './handler-context.js';
import type { Message } from './message.js';
import type { QueueContext } from './queue-context.js';
import type { Settle } from './storage/storage.js';

/** What the renewer reads and writes of one handler run (a consumer's pooled run). */
export interface RenewedRun<T> {
  /** The message whose handler runs; `undefined` while the run is not in use. */
  message: Message<T> | undefined;
  /** The handler's context, whose signal aborts when the lease is lost. */
  context: RunContext | undefined;
  /** When the lease ends as far as this consumer knows, on the storage's clock; `Infinity` once it is lost or given up. */
  leaseUntil: number;
  /** An extend of this run's lease is out. */
  renewing: boolean;
}

/**
 * Keeps the leases of a consumer's running handlers alive: one timer per consumer, not
 * one per message, fires every `visibilityTimeout / 3` while a handler runs and extends
 * each lease that has used a third of its time, to a full `visibilityTimeout` from now.
 *
 * A handler that finishes within a third of the timeout is never extended: starting it
 * costs one field write, plus setting the timer when none is set.
 */
export class LeaseRenewer<T> {
  readonly #context: QueueContext<T>;
  /** Every run the consumer made, in use or not: the timer walks them (at most `concurrency`). */
  readonly #runs: readonly RenewedRun<T>[];
  readonly #leaseMs: number;
  readonly #period: number;
  #timer: TimerHandle | undefined = undefined;
  #closed = false;

  constructor(context: QueueContext<T>, runs: readonly RenewedRun<T>[]) {
    this.#context = context;
    this.#runs = runs;
    this.#leaseMs = context.options.visibilityTimeout;
    this.#period = Math.max(1, Math.floor(this.#leaseMs / 3));
  }

  /** A handler started on `run`, whose message was leased at `leasedAt`. */
  started(run: RenewedRun<T>, leasedAt: number): void {
    run.leaseUntil = leasedAt + this.#leaseMs;
    run.renewing = false;
    if (this.#timer === undefined && !this.#closed) this.#arm();
  }

  /** Renews nothing from now on (the consumer stopped, or abandoned its messages). */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.#context.storage.clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    // Unref'd: a running handler keeps the process alive if it needs to, its lease does not.
    this.#timer = this.#context.storage.clock.setTimer(this.#fire, this.#period, false);
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    if (this.#closed) return;
    const now = this.#context.now();
    // Extended once a third of the lease is used: the next fire, one period later, still finds a third left.
    const renewBelow = this.#leaseMs - this.#period;
    let running = false;
    const runs = this.#runs;
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i]!;
      const message = run.message;
      if (message === undefined || message.settled) continue;
      running = true;
      if (!run.renewing && run.leaseUntil - now <= renewBelow) this.#renew(run, message, now);
    }
    if (running) this.#arm();
  };

  #renew(run: RenewedRun<T>, message: Message<T>, now: number): void {
    const { storage, name } = this.#context;
    const leaseUntil = now + this.#leaseMs;
    run.renewing = true;
    let extended: Promise<Settle>;
    try {
      extended = storage.extend(name, message.receipt, leaseUntil, now);
    } catch (error) {
      extended = Promise.reject(error);
    }
    const done = extended.then(
      (settle) => {
        // The handler finished (and the run may serve another message) meanwhile: nothing to keep.
        if (run.message !== message || message.settled) return;
        run.renewing = false;
        if (settle === 'ok') {
          if (run.leaseUntil !== Infinity) run.leaseUntil = leaseUntil;
        } else {
          this.#lost(run, new LeaseLostError(name, message.id));
        }
      },
      (error: unknown) => {
        if (run.message !== message || message.settled) return;
        run.renewing = false;
        if (!(error instanceof ClosedError)) this.#context.error(error);
        this.#lost(run, new LeaseLostError(name, message.id, { cause: error }));
      },
    );
    storage.clock.track?.(done);
  }

  #lost(run: RenewedRun<T>, reason: LeaseLostError): void {
    run.leaseUntil = Infinity;
    run.context?.abort(reason);
  }
}
