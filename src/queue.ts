import { Emitter } from './event-emitter.js';
import { Consumer, type Handler } from './consumer.js';
import { disposeWith } from './dispose.js';
import { ClosedError, InvalidArgumentError, PocketMQError, QueueFullError, UnsupportedError } from './errors.js';
import type { QueueEvents } from './events.js';
import { infoOf, Message, type PeekedMessage } from './message.js';
import {
  checkFunction,
  type ConsumeOptions,
  type PeekOptions,
  type QueueOptions,
  type RedriveOptions,
  type ReceiveOptions,
  resolveConsumeOptions,
  resolveQueueOptions,
  resolvePeekOptions,
  resolveReceiveOptions,
  resolveRedriveOptions,
  newMessage,
  resolveSendOptions,
  type ResolvedQueueOptions,
  type ResolvedSendOptions,
  type SendOptions,
} from './options.js';
import { instrumentation, observeQueue, type SendTracker } from './instrumentation.js';
import { type MetricsRecorder, type QueueMetrics, snapshot } from './metrics/queue-metrics.js';
import { QueueContext } from './queue-context.js';
import type { ScheduleInfo, ScheduleOptions, ScheduleSpec } from './schedule.js';
import type { SchedulingHandle } from './schedule-operations.js';
import { validateWith } from './schema.js';
import { schedulerOf } from './scheduler.js';
import { getDefaultStorage } from './memory/memory-storage.js';
import type { EnqueuePolicy, EnqueueResult, NewMessage, QueueStats, Storage, StoredMessage } from './storage/storage.js';
import { checkInteger, checkName, expected } from './validate.js';

/** Messages one storage operation of {@link Queue.redrive} moves at most. */
const REDRIVE_SLICE = 1000;

/** The error of an admin operation the queue's storage does not implement (a third-party adapter). */
function unsupported(member: string, operation: string): UnsupportedError {
  return new UnsupportedError(operation.slice(0, operation.indexOf('(')), `${operation} needs a storage with \`${member}()\`; this storage has none`);
}

/** One item of {@link Queue.sendBatch}. */
export interface BatchItem<T> {
  body: T;
  options?: SendOptions;
}

/** The `options.storage` argument, or the process-wide default MemoryStorage. */
export function checkStorage(value: unknown): Storage {
  if (value === undefined) return getDefaultStorage();
  if (typeof value !== 'object' || value === null || typeof (value as Storage).claim !== 'function') {
    throw expected('options.storage', 'a Storage (MemoryStorage, FileStorage or RedisStorage)', value);
  }
  return value as Storage;
}

/**
 * A handle to a named point-to-point queue: each message is processed by one
 * consumer. Two handles with the same name on the same storage see the same
 * messages; options such as `maxAttempts` belong to the handle that uses them.
 *
 * ```ts
 * const orders = new Queue<Order>('orders');
 * await orders.send({ id: 1 });
 * orders.consume(async (msg) => process(msg.body));
 * ```
 */
export class Queue<T = unknown, In = T> extends Emitter<QueueEvents<T>> {
  /** The queue's name in its storage. */
  readonly name: string;
  /** The storage the queue's messages live in. */
  readonly storage: Storage;
  readonly #options: ResolvedQueueOptions;
  readonly #policy: EnqueuePolicy;
  readonly #context: QueueContext<T>;
  readonly #consumers = new Set<Consumer<T>>();
  readonly #closers = new Set<() => void>();
  /** Tells the scheduler this handle closed. */
  readonly #unlisten: () => void;
  /** Takes the handle off the instrumentation's list of open queues. */
  readonly #unobserve: () => void;
  #closed = false;

  /**
   * With `options.schema`, `T` (what handlers get) and `In` (what `send()` takes) are
   * inferred from the schema: `new Queue('signups', { schema: z.object({ email: z.string() }) })`.
   */
  constructor(name: string, options?: QueueOptions<T, In>) {
    super();
    this.name = checkName('name', name);
    this.storage = checkStorage((options as { storage?: unknown } | undefined)?.storage);
    this.#options = resolveQueueOptions(name, options);
    const { maxLength, overflow, deadLetter, dedupeWindow } = this.#options;
    this.#policy = { maxLength, overflow, deadLetter, dedupeWindow };
    const scheduler = schedulerOf(this.storage);
    this.#context = new QueueContext(this.name, this.storage, this.#options, scheduler, this);
    this.#unlisten = scheduler.listen(this.name, this.#listener);
    this.#unobserve = observeQueue(this);
  }

  /** Receives expiries and background errors from the scheduler; held strongly by this handle only. */
  readonly #listener = {
    expired: (messages: readonly StoredMessage[]) => {
      this.#context.metrics.expired += messages.length;
      if (this.listenerCount('expired') === 0) return;
      for (const message of messages) this.emit('expired', infoOf<T>(message));
    },
    error: (error: unknown) => this.#context.error(error),
  };

  /** The options in force, defaults applied. */
  get options(): ResolvedQueueOptions {
    return this.#options;
  }

  /**
   * Stores a message and resolves with its id once it is stored (durably, on a
   * durable storage). With a `dedupeId` seen within the dedupe window, nothing is
   * stored and the first message's id is returned. Rejects with `QueueFullError`
   * when `maxLength` is reached and `overflow` is `'reject'`.
   *
   * `body` must be JSON that reads back unchanged (FileStorage and RedisStorage keep
   * JSON text; MemoryStorage checks too under a `TestClock` or with `validateBodies`,
   * so a test refuses what production would refuse or change):
   * `null`, booleans, strings, finite numbers, and arrays and plain objects of them;
   * object properties that are `undefined` are left out and `-0` reads back as `0`,
   * as in JSON. Anything else (`NaN`, `Infinity`, a `Date`, a `Map`, a class
   * instance, a function, a bigint, a cycle...) rejects with `InvalidBodyError`
   * (code `ERR_INVALID_BODY`, with the `path` to the value), storing nothing.
   */
  send(body: In, options?: SendOptions): Promise<string> {
    if (this.#options.schema) return this.#sendValidated(body, options);
    // Not an async function: its frame and the two closures of its `await` were the
    // largest part of a send's garbage. One reaction to the storage's promise instead.
    let stored: Promise<EnqueueResult>;
    let items: NewMessage[];
    let now: number;
    const hook = instrumentation.hook;
    let tracker: SendTracker | undefined;
    try {
      this.#checkOpen();
      now = this.storage.clock.now();
      items = [this.#newMessage(body, options, 'options', now, 'body')];
      if (hook !== undefined) tracker = hook.send(this.name, items, 'send');
      else if (this.#policy.maxLength === undefined && !this.#context.listening().sent) {
        // Nothing to report but the count (no bound, no listener, no span): a storage
        // that answers at once saves the send a reaction.
        const result = this.storage.enqueueNow?.(this.name, items, this.#policy, now);
        if (result !== undefined) {
          this.#countSent(result.results, now);
          return Promise.resolve(result.results[0]!.id);
        }
      }
      stored = this.storage.enqueue(this.name, items, this.#policy, now);
    } catch (error) {
      tracker?.end(error);
      return Promise.reject(error);
    }
    const then = (result: EnqueueResult) => {
      this.#afterEnqueue(items, result);
      return result.results[0]!.id;
    };
    return tracker === undefined ? stored.then(then) : this.#tracked(stored, tracker, then);
  }

  /** Ends the send's span once the storage call and what follows it (a `QueueFullError`) are done. */
  #tracked<R>(stored: Promise<EnqueueResult>, tracker: SendTracker, then: (result: EnqueueResult) => R): Promise<R> {
    return stored.then(then).then(
      (value) => {
        tracker.end(undefined);
        return value;
      },
      (error: unknown) => {
        tracker.end(error);
        throw error;
      },
    );
  }

  /** {@link Queue.send} with a schema: the body is validated first, and stored only if it passes. */
  async #sendValidated(body: In, options: SendOptions | undefined): Promise<string> {
    this.#checkOpen();
    const sendOptions = resolveSendOptions(options, 'options');
    const output = await validateWith(this.#options.schema!, body, { argument: 'body' });
    this.#checkOpen();
    const now = this.storage.clock.now();
    const items = [this.#newMessageResolved(body, sendOptions, now, 'body')];
    return this.#store(items, now, (result) => {
      this.#afterEnqueue(items, result, [output]);
      return result.results[0]!.id;
    });
  }

  /** Stores `items`, inside a send span when instrumentation is installed. */
  #store<R>(items: NewMessage[], now: number, then: (result: EnqueueResult) => R): Promise<R> {
    const hook = instrumentation.hook;
    if (hook === undefined) return this.storage.enqueue(this.name, items, this.#policy, now).then(then);
    const tracker = hook.send(this.name, items, 'send');
    let stored: Promise<EnqueueResult>;
    try {
      stored = this.storage.enqueue(this.name, items, this.#policy, now);
    } catch (error) {
      tracker.end(error);
      throw error;
    }
    return this.#tracked(stored, tracker, then);
  }

  /**
   * Stores several messages in one storage operation: all of them, or (when they
   * would exceed `maxLength` with `overflow: 'reject'`, or an item is invalid) none.
   * With a `schema`, every body is validated before anything is stored: one invalid
   * body rejects the whole batch with a `ValidationError` naming it (`items[2].body`).
   * Resolves with the ids in order.
   */
  async sendBatch(items: readonly BatchItem<In>[]): Promise<string[]> {
    this.#checkOpen();
    if (!Array.isArray(items)) throw expected('items', 'an array of { body, options }', items);
    items.forEach((item, i) => {
      if (typeof item !== 'object' || item === null || !('body' in item)) throw expected(`items[${i}]`, 'an object with a `body`', item);
    });
    const resolved = items.map((item, i) => resolveSendOptions(item.options, `items[${i}].options`));
    const schema = this.#options.schema;
    const outputs = schema ? await Promise.all(items.map((item, i) => validateWith(schema, item.body, { argument: `items[${i}].body` }))) : undefined;
    if (schema) this.#checkOpen();
    const now = this.storage.clock.now();
    const messages = items.map((item, i) => this.#newMessageResolved(item.body, resolved[i]!, now, `items[${i}].body`));
    if (messages.length === 0) return [];
    return this.#store(messages, now, (result) => {
      this.#afterEnqueue(messages, result, outputs);
      return result.results.map((r) => r.id);
    });
  }

  #newMessage(body: In, options: SendOptions | undefined, prefix: string, now: number, bodyArgument: string): NewMessage {
    return this.#newMessageResolved(body, resolveSendOptions(options, prefix), now, bodyArgument);
  }

  #newMessageResolved(body: In, options: ResolvedSendOptions, now: number, bodyArgument: string): NewMessage {
    return newMessage(body, options, now, this.storage.capabilities.checksBodies ? bodyArgument : undefined);
  }

  /**
   * Reports what the storage did with `items` (events, metrics), or throws `QueueFullError`.
   * `outputs`: the schema's output for each item, what `'sent'` shows (as a handler will see it).
   * The send is counted at the items' `enqueuedAt`: a closure that kept its own `now` held one
   * more heap number per send in flight.
   */
  #afterEnqueue(items: readonly NewMessage[], result: EnqueueResult, outputs?: readonly unknown[]): void {
    if (result.full) throw new QueueFullError(this.name, this.#options.maxLength!);
    if (result.dropped.length > 0) this.#context.reportDead(result.dropped);
    this.#countSent(result.results, items[0]!.enqueuedAt);
    if (this.#context.listening().sent) {
      for (let i = 0; i < items.length; i++) {
        if (result.results[i]!.status !== 'stored') continue;
        const sent = outputs ? { ...items[i]!, body: outputs[i], attempt: 0 } : { ...items[i]!, attempt: 0 };
        this.emit('sent', infoOf<T>(sent));
      }
    }
  }

  /** Counts the stored ones of `results` in `metrics()`, at `enqueuedAt`. */
  #countSent(results: EnqueueResult['results'], enqueuedAt: number): void {
    let stored = 0;
    for (let i = 0; i < results.length; i++) if (results[i]!.status === 'stored') stored++;
    this.#context.metrics.recordSent(stored, enqueuedAt);
  }

  /**
   * Push consumption: calls `handler` for each message, at most `concurrency` at a
   * time. A handler that resolves acks its message; one that throws (anything, even
   * a non-Error) retries it with backoff, and after `maxAttempts` dead-letters it.
   */
  consume(handler: Handler<T>, options?: ConsumeOptions): Consumer<T> {
    this.#checkOpen();
    checkFunction('handler', handler);
    const resolved = resolveConsumeOptions(options);
    const consumer: Consumer<T> = new Consumer(this.#context, handler, resolved, () => this.#consumers.delete(consumer));
    this.#consumers.add(consumer);
    return consumer;
  }

  /**
   * Pull consumption (SQS style): leases up to `max` messages. With `wait: 0` it
   * answers at once; otherwise it resolves as soon as a message is available, or
   * with `[]` after `wait` ms. Settle each message with `ack()`, `nack()` or `deadLetter()`.
   */
  async receive(options?: ReceiveOptions): Promise<Message<T>[]> {
    this.#checkOpen();
    const { max, wait, signal } = resolveReceiveOptions(options);
    signal?.throwIfAborted();
    const { scheduler } = this.#context;
    const deadline = this.storage.clock.now() + wait;
    for (;;) {
      const version = scheduler.version(this.name);
      const messages = await this.#context.claim(max);
      if (messages.length > 0) return messages;
      const left = deadline - this.storage.clock.now();
      if (left <= 0) return messages;
      if (scheduler.version(this.name) !== version) continue;
      const woken = await this.#waitForWake(left, signal);
      if (!woken && this.storage.clock.now() >= deadline) return [];
    }
  }

  /** Resolves true when the queue is woken, false after `ms`; rejects on abort or close. Holds the scheduler unless the caller already does (`held`). */
  #waitForWake(ms: number, signal: AbortSignal | undefined, held = false): Promise<boolean> {
    const { scheduler } = this.#context;
    const clock = this.storage.clock;
    return new Promise<boolean>((resolve, reject) => {
      // close() may have come while the caller awaited the storage: its closers ran without us.
      if (this.#closed) return reject(new ClosedError(`Queue "${this.name}" was closed`));
      // The same for an abort: its event has already fired.
      if (signal?.aborted) return reject(signal.reason);
      const release = held ? undefined : scheduler.hold();
      const timer = Number.isFinite(ms) ? clock.setTimer(() => finish(false), ms, true) : undefined;
      const cancelWake = scheduler.onWake(this.name, () => finish(true));
      const onAbort = () => finish(signal!.reason, true);
      const onClose = () => finish(new ClosedError(`Queue "${this.name}" was closed`), true);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#closers.add(onClose);
      function cleanup() {
        release?.();
        if (timer !== undefined) clock.clearTimer(timer);
        cancelWake();
        signal?.removeEventListener('abort', onAbort);
      }
      const closers = this.#closers;
      function finish(value: unknown, failed = false) {
        cleanup();
        closers.delete(onClose);
        if (failed) reject(value);
        else resolve(value as boolean);
      }
    });
  }

  /** `for await (const msg of queue)`: one message at a time, waiting as long as it takes. Settle each one. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Message<T>, void, undefined> {
    for (;;) {
      if (this.#closed) return;
      let messages: Message<T>[];
      try {
        messages = await this.receive({ max: 1, wait: Infinity });
      } catch (error) {
        if (error instanceof ClosedError) return;
        throw error;
      }
      for (const message of messages) yield message;
    }
  }

  /**
   * Acks several messages received through this handle in one storage operation.
   * Resolves with one boolean per message, in order, as `msg.ack()` would: `true` if
   * the ack took effect, `false` if the message's lease had run out (it is, or will
   * be, delivered again). Each message counts as settled, as after `msg.ack()`.
   * Rejects with a `TypeError`, acking none, when `messages` is not an array of
   * unsettled messages received through this handle (each at most once).
   */
  async ack(messages: readonly Message<T>[]): Promise<boolean[]> {
    this.#checkOpen();
    if (!Array.isArray(messages)) throw expected('messages', 'an array of messages received through this queue handle', messages);
    const seen = new Set<Message<T>>();
    for (let i = 0; i < messages.length; i++) {
      const message: unknown = messages[i];
      if (!(message instanceof Message) || !message.isFrom(this.#context as QueueContext<unknown>)) {
        throw expected(`messages[${i}]`, `a message received through this handle of queue "${this.name}"`, message);
      }
      if (message.settled || seen.has(message)) {
        throw new InvalidArgumentError(`messages[${i}]`, `Expected \`messages[${i}]\` to be a message not settled yet, got message ${message.id}, which ${seen.has(message) ? 'appears twice in `messages`' : 'was already acked, nacked or dead-lettered'}`);
      }
      seen.add(message);
    }
    if (messages.length === 0) return [];
    for (const message of messages) message.markSettled();
    return this.#context.ackBatch(messages);
  }

  /**
   * Resolves when nothing is ready, delayed or in flight. Keeps the process alive
   * while it waits (delayed work included).
   */
  async idle(): Promise<void> {
    this.#checkOpen();
    return this.#untilIdle();
  }

  /**
   * Asks the storage for the queue's counts now and again each time the queue may
   * have become empty, until they are all 0: on a storage that signals `'drained'`,
   * at each of those signals; otherwise at each wake of the queue (once per ack
   * batch, once per message at concurrency 1). A signal during a question asks again
   * once it is answered. One registration for the whole wait, not one per signal.
   * Rejects with `ClosedError` on close, or with the storage's error.
   */
  #untilIdle(): Promise<void> {
    const { scheduler } = this.#context;
    const { storage, name } = this;
    const closers = this.#closers;
    return new Promise<void>((resolve, reject) => {
      // One hold for the whole wait: each hold and release re-sets the scheduler's real timer.
      const release = scheduler.hold();
      let done = false;
      let asking = false;
      // Drain signals are exact: a storage that sends them is asked only when one comes.
      const onDrains = storage.capabilities.drainedSignals;
      const versionOf = onDrains ? () => scheduler.drains(name) : () => scheduler.version(name);
      let version = 0;
      const finish = (error: unknown, failed: boolean) => {
        if (done) return;
        done = true;
        release();
        stopWatching();
        closers.delete(onClose);
        if (failed) reject(error);
        else resolve();
      };
      const onClose = () => finish(new ClosedError(`Queue "${name}" was closed`), true);
      const onStats = (s: QueueStats) => {
        asking = false;
        if (s.ready + s.delayed + s.inflight === 0) finish(undefined, false);
        else if (versionOf() !== version) ask();
      };
      const onError = (error: unknown) => {
        asking = false;
        finish(error, true);
      };
      const ask = () => {
        if (asking || done) return;
        asking = true;
        version = versionOf();
        storage.stats(name, storage.clock.now()).then(onStats, onError);
      };
      const stopWatching = onDrains ? scheduler.onEveryDrain(name, ask) : scheduler.onEveryWake(name, ask);
      closers.add(onClose);
      ask();
    });
  }

  /**
   * What this handle did, from memory (no storage call): counters since the handle was
   * made; handler durations (`consume()`: start to settle, in ms), rates per second and
   * the error rate over the last 60 s, on the storage's clock. Each handle counts its own
   * work: two handles (or processes) on one queue each report theirs; `stats()` gives the
   * queue's totals.
   *
   * ```ts
   * const { processing, rates, errorRate } = orders.metrics();
   * console.log(`p95 ${processing.p95} ms, ${rates.ackedPerSec.toFixed(1)} acks/s, ${(errorRate * 100).toFixed(1)} % failed`);
   * ```
   */
  metrics(): QueueMetrics {
    return snapshot([this.#context.metrics], this.storage.clock.now());
  }

  /** @internal The recorder behind {@link Queue.metrics}, for a Topic to add its subscriptions up. */
  get metricsRecorder(): MetricsRecorder {
    return this.#context.metrics;
  }

  /** Counts for the queue: `{ ready, delayed, inflight }` and lifetime counters. */
  async stats(): Promise<QueueStats> {
    this.#checkOpen();
    return this.storage.stats(this.name, this.storage.clock.now());
  }

  /** Removes every waiting (ready or delayed) message; in-flight ones are left to their consumers. Resolves with the count removed. */
  async purge(): Promise<number> {
    this.#checkOpen();
    const removed = await this.storage.purge(this.name, this.storage.clock.now());
    this.#context.scheduler.wake(this.name);
    return removed;
  }

  /**
   * Lists up to `max` messages of one state without leasing them, with their headers
   * (a dead letter's `x-dead-*` story included), attempts and times: `'ready'` ones
   * (the default) in delivery order, then those waiting behind their FIFO group's head;
   * `'delayed'` ones earliest first; `'inflight'` ones by lease end, with `leaseUntil`.
   * `peek(20)` is `peek({ max: 20 })`. Rejects with code `'ERR_UNSUPPORTED'` for a
   * state other than `'ready'` on a storage without `browse` (a third-party adapter).
   * Bodies are as stored: with a `schema`, what was sent (its input type `In`), not validated.
   */
  async peek(options?: number | PeekOptions): Promise<PeekedMessage<In>[]> {
    this.#checkOpen();
    const { max, state } = resolvePeekOptions(options);
    const now = this.storage.clock.now();
    if (this.storage.browse === undefined) {
      if (state !== 'ready') throw unsupported('browse', `peek({ state: '${state}' })`);
      const stored = await this.storage.peek(this.name, max, now);
      return stored.map((m) => ({ ...infoOf<In>(m), state, availableAt: m.availableAt, leaseUntil: undefined }));
    }
    const listed = await this.storage.browse(this.name, state, max, now);
    return listed.map(({ message, leaseUntil }) => ({ ...infoOf<In>(message), state, availableAt: message.availableAt, leaseUntil }));
  }

  /**
   * Removes one waiting (ready, delayed, or behind its FIFO group's head) message by id.
   * Resolves `true` if it was removed, `false` if it is in flight (its consumer settles
   * it) or not in the queue. No event is emitted and no counter changes; a `dedupeId` it
   * was sent with stays remembered for the dedupe window. Rejects with a `TypeError`
   * naming `id` when it is not a non-empty string.
   */
  async remove(id: string): Promise<boolean> {
    this.#checkOpen();
    if (typeof id !== 'string' || id.length === 0) throw expected('id', 'a message id (a non-empty string)', id);
    if (this.storage.remove === undefined) throw unsupported('remove', 'remove()');
    const removed = await this.storage.remove(this.name, id, this.storage.clock.now());
    if (removed) this.#context.scheduler.wake(this.name);
    return removed;
  }

  /**
   * Moves up to `max` (default: all those ready when it is called) ready messages of
   * this queue, usually a dead-letter queue, in delivery order, each back to the queue
   * its `x-original-queue` header names, or to `to`. Each message moves atomically: a
   * crash leaves it in exactly one of the two queues, never lost, never in both. A moved message keeps its id, body, priority,
   * group, correlationId, subject and user headers; its `x-dead-*`, `x-original-queue`
   * and `x-attempts` headers are gone and `x-redrive-count` counts its redrives; its
   * attempt count is 0 (its next delivery is attempt 1). It is stored whatever the
   * target's dedupe window remembers and beyond its `maxLength`, with no TTL.
   * Messages without an origin (or whose header names no valid queue, or this one) and
   * without `to` stay. Resolves with the number moved. Delayed and in-flight messages
   * are not moved.
   *
   * ```ts
   * const dlq = new Queue('orders.dlq', { storage });
   * await dlq.redrive();                       // every dead letter back to its queue
   * await dlq.redrive({ max: 100, to: 'orders.retry' });
   * ```
   */
  async redrive(options?: RedriveOptions): Promise<number> {
    this.#checkOpen();
    const resolved = resolveRedriveOptions(this.name, options);
    const { to } = resolved;
    let { max } = resolved;
    const { storage } = this;
    if (storage.redrive === undefined) throw unsupported('redrive', 'redrive()');
    // "All" is what is ready now: a message that fails again and comes back while the
    // redrive runs waits for the next one, so the loop always ends.
    if (max === Infinity) max = (await storage.stats(this.name, storage.clock.now())).ready;
    let moved = 0;
    // In slices, each one storage operation: a large dead-letter queue never holds the
    // storage (a Redis server, the file log's batch) for one long step.
    while (moved < max) {
      const want = Math.min(REDRIVE_SLICE, max - moved);
      const count = await storage.redrive(this.name, { max: want, to }, storage.clock.now());
      moved += count;
      if (count < want) break;
    }
    if (moved > 0) this.#context.scheduler.wake(this.name);
    return moved;
  }

  /**
   * Sends `body` to this queue on a schedule, stored in the storage: every `every` ms,
   * or at each match of a `cron` expression in the time zone `tz` (default `'UTC'`).
   * The schedule outlives this handle and the process (a FileStorage keeps it; on Redis
   * every process shares it), and each tick is sent exactly once however many processes
   * hold the storage open. An `every` schedule ticks first one interval from now (or at
   * `options.startAt`); a cron schedule at its next match. Each send carries
   * `headers['x-schedule'] = id` and the dedupeId `${id}@${tickTime}`, and is enqueued
   * under this handle's `maxLength`, `overflow` and `dedupeWindow`.
   *
   * A schedule with the same `id` is replaced: its body and options are the new ones;
   * its next tick, last tick and count are kept when `every`/`cron`, `tz` and `startAt`
   * are unchanged (so an app that schedules at every start does not push its ticks
   * back), and computed afresh otherwise.
   *
   * Rejects, storing nothing, on an invalid `id` (a queue name), a cron expression
   * croner cannot read, an unknown time zone, `every` below 1 ms, a schedule with no
   * tick before `endAt`, a body or option `send()` would refuse (with a `schema`, a body
   * it refuses: `ValidationError`), or a storage without schedules (`UnsupportedError`).
   * Resolves with the schedule as {@link Queue.schedules} lists it; its body as sent.
   */
  schedule(id: string, spec: ScheduleSpec, body: In, options?: ScheduleOptions): Promise<ScheduleInfo<In>> {
    return this.#scheduling(async (ops, handle) => {
      const { schema } = this.#options;
      if (schema) await validateWith(schema, body, { argument: 'body' });
      return ops.schedule<In>(handle, id, spec, body, options);
    });
  }

  /**
   * This queue's schedules, ordered by id: `{ id, every | cron, tz, next, last, count,
   * body, options }`, `next` and `last` in ms since the epoch.
   */
  schedules(): Promise<ScheduleInfo<In>[]> {
    return this.#scheduling((ops, handle) => ops.schedules<In>(handle));
  }

  /** Removes the schedule `id` of this queue; resolves true if it existed. Messages it already sent stay. */
  unschedule(id: string): Promise<boolean> {
    return this.#scheduling((ops, handle) => ops.unschedule(handle, id));
  }

  /**
   * Runs a schedule operation, loaded on first use (apps that never schedule do not
   * carry it), and tells a test clock about it so that moving time waits for it.
   */
  #scheduling<R>(operation: (ops: typeof import('./schedule-operations.js'), handle: SchedulingHandle) => Promise<R>): Promise<R> {
    const run = async () => {
      this.#checkOpen();
      const ops = await import('./schedule-operations.js');
      return operation(ops, { name: this.name, storage: this.storage, policy: this.#policy, checkOpen: () => this.#checkOpen() });
    };
    const work = run();
    this.storage.clock.track?.(work);
    return work;
  }

  /**
   * Stops this handle's consumers gracefully, rejects its waiting `receive()`s with
   * `ClosedError`, and makes later calls reject with `ClosedError`. The storage and
   * its messages stay; close the storage separately.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const close of [...this.#closers]) close();
    this.#unobserve();
    try {
      await Promise.all([...this.#consumers].map((c) => c.stop()));
    } finally {
      this.#unlisten();
    }
  }

  /** Closes the handle, as {@link Queue.close}: `await using queue = new Queue(...)` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return disposeWith(() => this.close());
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError(`Queue "${this.name}" is closed`);
  }
}

