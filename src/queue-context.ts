import type { EventEmitter } from 'eventemitter3';
import { backoffDelay } from './backoff.js';
import { reportError, toError } from './events.js';
import type { QueueEvents } from './events.js';
import { infoOf, Message, type MessageSettler } from './message.js';
import type { ResolvedQueueOptions } from './options.js';
import type { Scheduler } from './scheduler.js';
import { isUnreadable } from './storage/unreadable-body.js';
import type { ClaimRequest, ClaimResult, DeadLettered, Delivery, Receipt, Settle, Storage } from './storage/storage.js';

/**
 * What a Queue shares with its messages and consumers: the storage calls that
 * settle a delivery and the events they cause. Internal; not exported.
 */
export class QueueContext<T> implements MessageSettler<T> {
  readonly name: string;
  readonly storage: Storage;
  readonly options: ResolvedQueueOptions;
  readonly scheduler: Scheduler;
  readonly events: EventEmitter<QueueEvents<T>>;
  readonly claimRequest: ClaimRequest;
  /** Claim requests by `max`, made once each: a consumer asks for the room it has on every claim. */
  readonly #claimRequests: ClaimRequest[] = [];
  /** Ack runs not in use (see {@link AckRun}). */
  readonly #freeAckRuns: AckRun<T>[] = [];

  constructor(name: string, storage: Storage, options: ResolvedQueueOptions, scheduler: Scheduler, events: EventEmitter<QueueEvents<T>>) {
    this.name = name;
    this.storage = storage;
    this.options = options;
    this.scheduler = scheduler;
    this.events = events;
    this.claimRequest = { max: 1, leaseMs: options.visibilityTimeout, maxAttempts: options.maxAttempts, deadLetter: options.deadLetter };
  }

  now(): number {
    return this.storage.clock.now();
  }

  /** The claim request for up to `max` messages. */
  claimRequestFor(max: number): ClaimRequest {
    if (max === this.claimRequest.max) return this.claimRequest;
    if (max > 1_024) return { ...this.claimRequest, max };
    return (this.#claimRequests[max] ??= { ...this.claimRequest, max });
  }

  /** Leases up to `max` messages and reports what the claim dead-lettered on the way. */
  async claim(max: number): Promise<Message<T>[]> {
    return this.deliveries(await this.storage.claim(this.name, this.claimRequestFor(max), this.now()));
  }

  /** The messages of a claim's result, after reporting what it dead-lettered. */
  deliveries(result: ClaimResult): Message<T>[] {
    if (result.deadLettered.length > 0) this.reportDead(result.deadLettered);
    const { delivered } = result;
    const messages: Message<T>[] = [];
    for (let i = 0; i < delivered.length; i++) if (!this.unreadable(delivered[i]!)) messages.push(this.message(delivered[i]!));
    return messages;
  }

  /**
   * True when the storage could not read the delivery's body (its codecs refused it):
   * the message is then dead-lettered with the reason the body gives, the failure is an
   * `'error'` event, and the caller must not hand it to anyone.
   */
  unreadable(delivery: Delivery): boolean {
    const body = delivery.message.body;
    if (!isUnreadable(body)) return false;
    this.error(body.error);
    const info = infoOf<T>(delivery.message);
    const reason = body.reason;
    const work = this.storage.deadLetter(this.name, delivery.receipt, this.options.deadLetter, { reason, error: body.error.message }, this.now()).then(
      (settle) => {
        if (settle !== 'ok') return;
        if (this.events.listenerCount('dead') > 0) this.events.emit('dead', info, reason);
        this.scheduler.wake(this.name);
      },
      (error: unknown) => this.error(error),
    );
    this.storage.clock.track?.(work);
    return true;
  }

  /** The message a handler sees for one delivery; emits `'delivered'`. */
  message(delivery: Delivery): Message<T> {
    const m = new Message<T>(this, delivery.message, delivery.receipt);
    if (this.events.listenerCount('delivered') > 0) this.events.emit('delivered', m);
    return m;
  }

  async ack(message: Message<T>): Promise<boolean> {
    const [settle] = await this.storage.ack(this.name, [message.receipt], this.now());
    return this.#acked(message, settle === 'ok');
  }

  /**
   * Acks a batch of messages (the push consumer's acks of one tick) in one storage
   * call, then calls `done(batch.length)`. Never rejects: a failure is an `'error'`
   * event, and the messages will be delivered again.
   */
  ackAll(batch: readonly Message<T>[], done: (count: number) => void, now: number): Promise<void> {
    const receipts: Receipt[] = new Array(batch.length);
    for (let i = 0; i < batch.length; i++) receipts[i] = batch[i]!.receipt;
    let stored: Promise<Settle[]>;
    try {
      stored = this.storage.ack(this.name, receipts, now);
    } catch (error) {
      stored = Promise.reject(error);
    }
    const run = this.#freeAckRuns.pop() ?? new AckRun(this);
    run.batch = batch;
    run.done = done;
    return stored.then(run.stored, run.failed);
  }

  /** @internal An ack batch's storage call settled: the run goes back to the pool, then the batch is reported. */
  acksSettled(run: AckRun<T>, settles: readonly Settle[] | undefined, error: unknown): void {
    const batch = run.batch!;
    const done = run.done!;
    run.batch = undefined;
    run.done = undefined;
    this.#freeAckRuns.push(run);
    if (settles === undefined) {
      this.error(error);
      done(batch.length);
      return;
    }
    this.#batchAcked(batch, settles);
    done(batch.length);
  }

  /**
   * Acks a batch of messages in one storage call (`queue.ack()`): resolves with whether
   * each took effect, or rejects with the storage's error.
   */
  async ackBatch(batch: readonly Message<T>[]): Promise<boolean[]> {
    const receipts: Receipt[] = new Array(batch.length);
    for (let i = 0; i < batch.length; i++) receipts[i] = batch[i]!.receipt;
    const settles = await this.storage.ack(this.name, receipts, this.now());
    this.#batchAcked(batch, settles);
    const acked: boolean[] = new Array(batch.length);
    for (let i = 0; i < batch.length; i++) acked[i] = settles[i] === 'ok';
    return acked;
  }

  #batchAcked(batch: readonly Message<T>[], settles: readonly Settle[]): void {
    if (this.events.listenerCount('acked') > 0) {
      for (let i = 0; i < batch.length; i++) if (settles[i] === 'ok') this.events.emit('acked', batch[i]!);
    }
    // One wake for the batch: waiters re-check the queue once, not once per message.
    this.scheduler.wake(this.name);
  }

  #acked(message: Message<T>, ok: boolean): boolean {
    if (ok && this.events.listenerCount('acked') > 0) this.events.emit('acked', message);
    this.scheduler.wake(this.name);
    return ok;
  }

  /**
   * A delivery failed: release it for another attempt after `delay` (default: the
   * backoff), or dead-letter it when it has had its last attempt.
   */
  async fail(message: Message<T>, error: unknown, delay?: number): Promise<boolean> {
    const { options } = this;
    if (message.attempt >= options.maxAttempts) {
      return this.deadLetter(message, 'max-attempts', toError(error).message);
    }
    let ms = delay;
    if (ms === undefined) {
      try {
        ms = backoffDelay(options.backoff, message.attempt, error);
      } catch (backoffError) {
        this.error(backoffError);
        ms = 0;
      }
    }
    const now = this.now();
    const settle = await this.storage.release(this.name, message.receipt, now + ms, now);
    if (settle !== 'ok') return false;
    if (this.events.listenerCount('retry') > 0) this.events.emit('retry', message, error, ms);
    this.scheduler.wake(this.name);
    return true;
  }

  /** `errorMessage` is the last error's message when an error caused it (a thrown `undefined` included). */
  async deadLetter(message: Message<T>, reason: string, errorMessage: string | undefined): Promise<boolean> {
    const info = { reason, error: errorMessage };
    const target = this.options.deadLetter;
    const settle = await this.storage.deadLetter(this.name, message.receipt, target, info, this.now());
    if (settle !== 'ok') return false;
    if (this.events.listenerCount('dead') > 0) this.events.emit('dead', message, reason);
    this.scheduler.wake(this.name);
    return true;
  }

  async extend(message: Message<T>, ms: number): Promise<boolean> {
    const now = this.now();
    return (await this.storage.extend(this.name, message.receipt, now + ms, now)) === 'ok';
  }

  /** Emits `'dead'` for messages the storage dead-lettered on its own (lease ran out, overflow). */
  reportDead(items: readonly DeadLettered[]): void {
    if (this.events.listenerCount('dead') > 0) {
      for (const { message, reason } of items) this.events.emit('dead', infoOf<T>(message), reason);
    }
    this.scheduler.wake(this.name);
  }

  /** Emits `'error'`, or reports it when nobody listens: never dropped. */
  error(error: unknown): void {
    reportError(this.events, error, `queue "${this.name}"`);
  }
}

/** Waits for one ack batch's storage call; reused, so its two callbacks are made once, not per batch. */
class AckRun<T> {
  batch: readonly Message<T>[] | undefined = undefined;
  done: ((count: number) => void) | undefined = undefined;
  readonly stored: (settles: Settle[]) => void;
  readonly failed: (error: unknown) => void;

  constructor(context: QueueContext<T>) {
    this.stored = (settles) => context.acksSettled(this, settles, undefined);
    this.failed = (error: unknown) => context.acksSettled(this, undefined, error);
  }
}
