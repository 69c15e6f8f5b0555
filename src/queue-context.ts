import { backoffDelay } from './backoff.js';
import type { ValidationError } from './errors.js';
import type { Emitter } from './event-emitter.js';
import { reportError, toError } from './events.js';
import type { QueueEvents } from './events.js';
import { infoOf, Message, type MessageSettler } from './message.js';
import type { ResolvedQueueOptions } from './options.js';
import { MetricsRecorder } from './metrics/queue-metrics.js';
import { asValidationError, validateWith } from './schema.js';
import type { Scheduler } from './scheduler.js';
import { isUnreadable } from './storage/unreadable-body.js';
import type { ClaimRequest, ClaimResult, DeadLettered, Delivery, Receipt, Settle, Storage, StoredMessage } from './storage/storage.js';

/**
 * What a Queue shares with its messages and consumers: the storage calls that
 * settle a delivery and the events they cause. Internal; not exported.
 */
export class QueueContext<T> implements MessageSettler<T> {
  readonly name: string;
  readonly storage: Storage;
  readonly options: ResolvedQueueOptions;
  readonly scheduler: Scheduler;
  readonly events: Emitter<QueueEvents<T>>;
  readonly claimRequest: ClaimRequest;
  /** What `queue.metrics()` reports, recorded since the handle was made. */
  readonly metrics: MetricsRecorder;
  /** Claim requests by `max`, made once each: a consumer asks for the room it has on every claim. */
  readonly #claimRequests: ClaimRequest[] = [];
  /** Ack runs not in use (see {@link AckRun}). */
  readonly #freeAckRuns: AckRun<T>[] = [];
  readonly #listening = new Listening();

  constructor(name: string, storage: Storage, options: ResolvedQueueOptions, scheduler: Scheduler, events: Emitter<QueueEvents<T>>) {
    this.name = name;
    this.storage = storage;
    this.options = options;
    this.scheduler = scheduler;
    this.events = events;
    this.claimRequest = { max: 1, leaseMs: options.visibilityTimeout, maxAttempts: options.maxAttempts, deadLetter: options.deadLetter };
    this.metrics = new MetricsRecorder(storage.clock.now());
  }

  now(): number {
    return this.storage.clock.now();
  }

  /** Which per-message events have listeners (see {@link Emitter}). */
  listening(): Listening {
    const listening = this.#listening;
    const events = this.events;
    if (listening.at !== events.listenerChanges) {
      listening.at = events.listenerChanges;
      listening.sent = events.listenerCount('sent') > 0;
      listening.delivered = events.listenerCount('delivered') > 0;
      listening.acked = events.listenerCount('acked') > 0;
    }
    return listening;
  }

  /** The claim request for up to `max` messages. */
  claimRequestFor(max: number): ClaimRequest {
    if (max === this.claimRequest.max) return this.claimRequest;
    if (max > 1_024) return { ...this.claimRequest, max };
    return (this.#claimRequests[max] ??= { ...this.claimRequest, max });
  }

  /** Leases up to `max` messages and reports what the claim dead-lettered on the way. */
  async claim(max: number): Promise<Message<T>[]> {
    const result = await this.storage.claim(this.name, this.claimRequestFor(max), this.now());
    return this.deliveries(this.options.schema ? await this.checkClaim(result) : result);
  }

  /**
   * A claim's result with each body validated by the queue's schema: the deliveries that
   * pass carry the schema's output as their body; the others are dead-lettered with
   * reason `'invalid'` (see {@link QueueContext.deadLetterInvalid}), and left out.
   */
  async checkClaim(result: ClaimResult): Promise<ClaimResult> {
    const schema = this.options.schema!;
    const outcomes = await Promise.all(
      result.delivered.map(async ({ message }) => {
        // A body the codecs could not open is dead-lettered for that reason, not as invalid.
        if (isUnreadable(message.body)) return { unreadable: true as const };
        try {
          return { value: await validateWith(schema, message.body, { queue: this.name, messageId: message.id }) };
        } catch (error) {
          return { invalid: asValidationError(error, { queue: this.name, messageId: message.id }) };
        }
      }),
    );
    const delivered: Delivery[] = [];
    const failed: Promise<void>[] = [];
    for (let i = 0; i < outcomes.length; i++) {
      const delivery = result.delivered[i]!;
      const outcome = outcomes[i]!;
      if ('unreadable' in outcome) delivered.push(delivery);
      else if (outcome.invalid) failed.push(this.deadLetterInvalid(delivery, outcome.invalid));
      else delivered.push({ receipt: delivery.receipt, message: withBody(delivery.message, outcome.value) });
    }
    await Promise.all(failed);
    return { delivered, deadLettered: result.deadLettered };
  }

  /**
   * Dead-letters a claimed message its schema refused, and reports `error` (never
   * thrown: the claim's other messages go on). When the storage call fails, the
   * message stays leased and is claimed, and checked, again when its lease runs out.
   */
  async deadLetterInvalid(delivery: Delivery, error: ValidationError): Promise<void> {
    this.error(error);
    let settle: Settle;
    try {
      settle = await this.storage.deadLetter(this.name, delivery.receipt, this.options.deadLetter, { reason: 'invalid', error: error.message }, this.now());
    } catch (storageError) {
      this.error(storageError);
      return;
    }
    if (settle !== 'ok') return;
    if (this.events.listenerCount('dead') > 0) this.events.emit('dead', infoOf<T>(delivery.message), 'invalid');
    this.scheduler.wake(this.name);
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
    this.metrics.delivered++;
    if (this.listening().delivered) this.events.emit('delivered', m);
    return m;
  }

  async ack(message: Message<T>): Promise<boolean> {
    const now = this.now();
    const [settle] = await this.storage.ack(this.name, [message.receipt], now);
    return this.#acked(message, settle === 'ok', now);
  }

  /**
   * Acks a batch of messages (the push consumer's acks of one tick) in one storage
   * call, then calls `done(batch.length)`. Never rejects: a failure is an `'error'`
   * event, and the messages will be delivered again. Returns `undefined` when the
   * storage answered at once ({@link Storage.ackNow}): `done` has then been called.
   */
  ackAll(batch: readonly Message<T>[], done: (count: number) => void, now: number): Promise<void> | undefined {
    const receipts: Receipt[] = new Array(batch.length);
    for (let i = 0; i < batch.length; i++) receipts[i] = batch[i]!.receipt;
    let settled: Settle[] | Promise<Settle[]>;
    try {
      settled = this.storage.ackNow?.(this.name, receipts, now) ?? this.storage.ack(this.name, receipts, now);
    } catch (error) {
      settled = Promise.reject(error);
    }
    if (Array.isArray(settled)) {
      this.#batchAcked(batch, settled, now);
      done(batch.length);
      return undefined;
    }
    const run = this.#freeAckRuns.pop() ?? new AckRun(this);
    run.batch = batch;
    run.done = done;
    run.now = now;
    return settled.then(run.stored, run.failed);
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
    this.#batchAcked(batch, settles, run.now);
    done(batch.length);
  }

  /**
   * Acks a batch of messages in one storage call (`queue.ack()`): resolves with whether
   * each took effect, or rejects with the storage's error.
   */
  async ackBatch(batch: readonly Message<T>[]): Promise<boolean[]> {
    const receipts: Receipt[] = new Array(batch.length);
    for (let i = 0; i < batch.length; i++) receipts[i] = batch[i]!.receipt;
    const now = this.now();
    const settles = await this.storage.ack(this.name, receipts, now);
    this.#batchAcked(batch, settles, now);
    const acked: boolean[] = new Array(batch.length);
    for (let i = 0; i < batch.length; i++) acked[i] = settles[i] === 'ok';
    return acked;
  }

  #batchAcked(batch: readonly Message<T>[], settles: readonly Settle[], now: number): void {
    let acked = 0;
    for (let i = 0; i < settles.length; i++) if (settles[i] === 'ok') acked++;
    this.metrics.recordAcked(acked, now);
    if (this.listening().acked) {
      for (let i = 0; i < batch.length; i++) if (settles[i] === 'ok') this.events.emit('acked', batch[i]!);
    }
    // One wake for the batch: waiters re-check the queue once, not once per message.
    this.scheduler.wake(this.name);
  }

  #acked(message: Message<T>, ok: boolean, now: number): boolean {
    if (ok) this.metrics.recordAcked(1, now);
    if (ok && this.listening().acked) this.events.emit('acked', message);
    this.scheduler.wake(this.name);
    return ok;
  }

  /**
   * A delivery failed: release it for another attempt after `delay` (default: the
   * backoff), or dead-letter it when it has had its last attempt.
   */
  async fail(message: Message<T>, error: unknown, delay?: number): Promise<boolean> {
    const { options } = this;
    this.metrics.recordFailed(this.now());
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
    this.metrics.retried++;
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
    this.metrics.deadLettered++;
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
    this.metrics.deadLettered += items.length;
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

/** `stored` with another body: field by field, since an engine storage hands out its live record, whose fields are getters. */
function withBody(stored: StoredMessage, body: unknown): StoredMessage {
  return {
    id: stored.id,
    body,
    headers: stored.headers,
    priority: stored.priority,
    enqueuedAt: stored.enqueuedAt,
    availableAt: stored.availableAt,
    expiresAt: stored.expiresAt,
    dedupeId: stored.dedupeId,
    group: stored.group,
    correlationId: stored.correlationId,
    subject: stored.subject,
    attempt: stored.attempt,
  };
}

/** Waits for one ack batch's storage call; reused, so its two callbacks are made once, not per batch. */
class AckRun<T> {
  batch: readonly Message<T>[] | undefined = undefined;
  done: ((count: number) => void) | undefined = undefined;
  /** When the acks were made: the time their metrics are recorded at. */
  now = 0;
  readonly stored: (settles: Settle[]) => void;
  readonly failed: (error: unknown) => void;

  constructor(context: QueueContext<T>) {
    this.stored = (settles) => context.acksSettled(this, settles, undefined);
    this.failed = (error: unknown) => context.acksSettled(this, undefined, error);
  }
}

/** Whether the per-message events have listeners, as of the emitter's `listenerChanges` of `at`. */
class Listening {
  at = -1;
  sent = false;
  delivered = false;
  acked = false;
}
