import { Emitter } from './event-emitter.js';
import type { Handler } from './consumer.js';
import { disposeWith } from './dispose.js';
import { ClosedError, PocketMQError } from './errors.js';
import { reportError } from './events.js';
import { instrumentation, type SendTracker } from './instrumentation.js';
import { isThenable } from './is-thenable.js';
import { MetricsRecorder, type QueueMetrics, snapshot } from './metrics/queue-metrics.js';
import type { MessageInfo } from './message.js';
import { type ConsumeOptions, DEFAULTS, type QueueOptions, resolveConsumeOptions, resolveQueueOptions, resolveSendOptions, newMessage, type SendOptions } from './options.js';
import { checkStorage, Queue, type BatchItem } from './queue.js';
import { checkSchema, validateWith } from './schema.js';
import type { StandardSchemaV1 } from './standard-schema.js';
import type { EnqueuePolicy, NewMessage, Storage, StoredMessage } from './storage/storage.js';
import { checkFilter, checkSubject, SubjectIndex } from './subject-pattern.js';
import { type LiveListener, type LiveRecord, Subscription } from './subscription.js';
import { checkFunction, checkKeys, checkMs, checkName, checkObject, expected, MAX_NAME_LENGTH, RESERVED_SEPARATOR } from './validate.js';

/**
 * Options of a {@link Topic}. `T` is the body subscribers get, `In` the body `publish()`
 * takes (they differ only for a `schema` that transforms).
 */
export interface TopicOptions<T = any, In = T> {
  /** Where subscriptions and their messages live. @defaultValue a process-wide `MemoryStorage` */
  storage?: Storage;
  /** How long a publish's `dedupeId` is remembered by each subscription, in ms. @defaultValue `300000` */
  dedupeWindow?: number;
  /**
   * Any Standard Schema v1; the body types are inferred from it. `publish()` validates
   * each body (an invalid one rejects with `ValidationError`, stored for no
   * subscription); every durable subscription validates each message it claims, as a
   * queue's `schema` does (see {@link QueueOptions.schema}), unless it has a `schema` of
   * its own; live listeners and `'published'` get the schema's output.
   * @defaultValue none
   */
  schema?: StandardSchemaV1<In, T>;
}

/**
 * Options of one `publish()`: those of `queue.send()`. `subject` is what filters
 * match: dot-separated words without wildcards. `delay`, `ttl` and `priority`
 * apply to every subscription's copy; `dedupeId` is checked per subscription.
 */
export type PublishOptions = SendOptions;

/**
 * Options of a durable subscription: its queue's options (retries, backoff,
 * dead-letter queue, visibility timeout), its consumer's options, and a filter.
 * `maxLength`, `overflow` and `dedupeWindow` are the topic's business and are not
 * accepted here.
 */
export interface SubscriptionOptions<T = any> extends Omit<QueueOptions<T, any>, 'storage' | 'maxLength' | 'overflow' | 'dedupeWindow'>, ConsumeOptions {
  /**
   * Which subjects the subscription receives, with AMQP topic wildcards: `*` is
   * exactly one word, `#` zero or more (`'order.*'`, `'#.error'`). Subscribing
   * again under the same name with another filter changes it from then on.
   * @defaultValue every message, with or without a subject
   */
  filter?: string;
}

/** Options of a live listener. */
export interface LiveListenerOptions {
  /** Which subjects the listener hears (see {@link SubscriptionOptions.filter}). @defaultValue every message */
  filter?: string;
}

/** Events of a {@link Topic}. */
export interface TopicEvents<T> {
  /** A message was stored for `subscriptions` durable subscriptions by this handle's `publish()`. */
  published: (message: MessageInfo<T>, subscriptions: number) => void;
  /** A live listener threw, a subscription could not be recorded, or a subscription's consumer hit a storage error. */
  error: (error: Error) => void;
}

/** A durable subscription as recorded in the storage. */
export interface SubscriptionInfo {
  readonly name: string;
  /** `undefined`: every message. */
  readonly filter: string | undefined;
  /** The name of the queue that holds its messages. */
  readonly queue: string;
}

const TOPIC_KEYS = ['storage', 'dedupeWindow', 'schema'];
const SUBSCRIPTION_QUEUE_KEYS = ['visibilityTimeout', 'maxAttempts', 'backoff', 'deadLetter', 'schema'];
const SUBSCRIPTION_CONSUME_KEYS = ['concurrency', 'prefetch', 'rateLimit', 'signal'];
const SUBSCRIPTION_KEYS = ['filter', ...SUBSCRIPTION_QUEUE_KEYS, ...SUBSCRIPTION_CONSUME_KEYS];
/** Appended to a topic's name to name the queue that records its subscriptions. */
const RECORD_SUFFIX = `${RESERVED_SEPARATOR}subscriptions`;
/** Most subscription changes a topic's record holds (only changes are appended, not re-attachments). */
const MAX_RECORDS = 100_000;
const RECORD_POLICY: EnqueuePolicy = { maxLength: undefined, overflow: 'reject', deadLetter: false, dedupeWindow: 0 };

/** The queue that holds a durable subscription's messages. Subscription names have no `:`, so this is unambiguous. */
function queueNameOf(topic: string, subscription: string): string {
  return `${topic}:${subscription}`;
}

function pick(o: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) if (o[key] !== undefined) out[key] = o[key];
  return out;
}

type Subscriptions = Map<string, string | undefined>;

/** One change to a topic's subscriptions: created or changed (`filter`, `null` for none), or deleted. */
interface SubscriptionRecord {
  readonly name: string;
  readonly filter: string | null;
  readonly deleted?: true;
}

/** Folds the record, oldest first, into the subscriptions in force. */
function foldRecords(topic: string, records: readonly StoredMessage[]): Subscriptions {
  const subs: Subscriptions = new Map();
  try {
    for (const { body } of records) {
      const record = checkObject('record', body) as Partial<SubscriptionRecord>;
      const name = checkName('record.name', record.name);
      if (record.deleted === true) subs.delete(name);
      else subs.set(name, record.filter === null || record.filter === undefined ? undefined : checkFilter('record.filter', record.filter));
    }
  } catch (error) {
    throw new PocketMQError('ERR_SUBSCRIPTIONS_UNREADABLE', `Topic "${topic}": the recorded subscriptions cannot be read`, { cause: error });
  }
  return subs;
}

/**
 * What every Topic handle of one name on one storage shares in this process: the
 * subscriptions as last read from the storage, indexed by filter, and the live
 * listeners.
 *
 * Durable subscriptions are recorded as an append-only log of changes, kept as
 * the messages of an internal queue (`` `${topic}::subscriptions` ``) that nobody
 * consumes. An append is one atomic storage operation on every storage, so two
 * processes sharing a RedisStorage that subscribe at the same moment never lose
 * each other's change (a read-modify-write of one meta key would). Publishes
 * read the record's `sent` counter (one `stats()` call: a map lookup on memory
 * and file, one script on Redis) and re-read the changes only when it moved, so
 * a subscription made by another process is seen by the next publish. The
 * publishes of one tick share that call (see {@link TopicRegistry.refresh}).
 */
class TopicRegistry {
  readonly #topic: string;
  readonly #storage: Storage;
  readonly #recordQueue: string;
  /** The record's `sent` count the index was built from; `-1` before the first read. */
  #version = -1;
  #subscriptions: Subscriptions = new Map();
  #index = new SubjectIndex<string>();
  /** This process's record appends, one at a time; never rejects (each caller gets its own result). */
  #writes: Promise<unknown> = Promise.resolve();
  /** The read that callers of {@link TopicRegistry.refresh} join until it starts, and the appends it waits for. */
  #nextRead: Promise<Subscriptions> | undefined = undefined;
  #nextReadAfter: Promise<unknown> | undefined = undefined;
  /** This process's record appends not yet read back into the index. */
  #appending = 0;
  readonly live = new SubjectIndex<LiveRecord<unknown>>();
  /**
   * Publishes (through any handle) whose live listeners are still to be called once they
   * are stored; while there are any, later publishes wait their turn so that listeners
   * hear publishes in order.
   */
  deferred = 0;

  constructor(topic: string, storage: Storage) {
    this.#topic = topic;
    this.#storage = storage;
    this.#recordQueue = `${topic}${RECORD_SUFFIX}`;
  }

  /**
   * Brings the index up to date with the storage (after this process's own pending
   * appends). Callers of one tick share one read: it calls `stats()` on a later
   * microtask, so after every caller that joined it was called, and a subscription
   * recorded by another process before a caller was called is still seen by it.
   * A caller after a new append of this process starts a new read, which waits for it.
   */
  refresh(): Promise<Subscriptions> {
    if (this.#nextRead !== undefined && this.#nextReadAfter === this.#writes) return this.#nextRead;
    const writes = this.#writes;
    const read: Promise<Subscriptions> = writes.then(() => {
      if (this.#nextRead === read) this.#nextRead = undefined;
      return this.#read();
    });
    this.#nextRead = read;
    this.#nextReadAfter = writes;
    return read;
  }

  async #read(): Promise<Subscriptions> {
    const storage = this.#storage;
    const { sent } = await storage.stats(this.#recordQueue, storage.clock.now());
    if (sent === this.#version) return this.#subscriptions;
    const records = await storage.peek(this.#recordQueue, MAX_RECORDS, storage.clock.now());
    if (records.length >= MAX_RECORDS) throw new PocketMQError('ERR_TOO_MANY_SUBSCRIPTION_CHANGES', `Topic "${this.#topic}": more than ${MAX_RECORDS} subscription changes are recorded`);
    const subs = foldRecords(this.#topic, records);
    const index = new SubjectIndex<string>();
    for (const [name, filter] of subs) index.add(filter, queueNameOf(this.#topic, name));
    // Changes appended between stats() and peek() are already in; the next read sees `sent` moved and reads again.
    this.#index = index;
    this.#subscriptions = subs;
    this.#version = sent;
    return subs;
  }

  /**
   * True when a publish of `subject` stores nothing and may call its live listeners at
   * once: no publish is waiting to call them, no append of this process is pending, and
   * the storage says at once (`sentNow`) that the record has not moved since the index
   * was read, so no durable subscription matches. False when any of that is not known.
   */
  announcesAtOnce(subject: string | undefined): boolean {
    if (this.deferred !== 0 || this.#appending !== 0 || this.#version < 0) return false;
    return this.#storage.sentNow?.(this.#recordQueue) === this.#version && this.#index.matchList(subject).length === 0;
  }

  /** Queues of the durable subscriptions whose filter matches `subject`. Call {@link TopicRegistry.refresh} first. */
  targets(subject: string | undefined): readonly string[] {
    return this.#index.matchList(subject);
  }

  /** Records `name` with `filter`, or its deletion when `remove` is set; appends nothing when that is already in force. */
  update(name: string, filter: string | undefined, remove: boolean): Promise<void> {
    this.#appending++;
    const run = this.#writes.then(async () => {
      const subs = await this.#read();
      if (remove ? !subs.has(name) : subs.has(name) && subs.get(name) === filter) return;
      const record: SubscriptionRecord = remove ? { name, filter: null, deleted: true } : { name, filter: filter ?? null };
      const now = this.#storage.clock.now();
      const message = newMessage(record, undefined, now);
      await this.#storage.enqueue(this.#recordQueue, [message], RECORD_POLICY, now);
      await this.#read();
    });
    this.#writes = run.then(
      () => void this.#appending--,
      () => void this.#appending--,
    );
    return run;
  }
}

const registries = new WeakMap<Storage, Map<string, TopicRegistry>>();

function registryOf(storage: Storage, topic: string): TopicRegistry {
  let byName = registries.get(storage);
  if (!byName) {
    byName = new Map();
    registries.set(storage, byName);
  }
  let registry = byName.get(topic);
  if (!registry) {
    registry = new TopicRegistry(topic, storage);
    byName.set(topic, registry);
  }
  return registry;
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * What `'published'` and the live listeners get: made once per publish, every one with
 * the same shape, so listener calls stay monomorphic (docs/benchmarks.md).
 */
class PublishedMessage<T> implements MessageInfo<T> {
  readonly id: string;
  readonly body: T;
  readonly headers: Readonly<Record<string, string>>;
  readonly attempt: number = 0;
  readonly enqueuedAt: number;
  readonly priority: number;
  readonly correlationId: string | undefined;
  readonly group: string | undefined;
  readonly subject: string | undefined;

  /** `body`: the schema's output when the topic has a schema. */
  constructor(item: NewMessage, body: unknown = item.body) {
    this.id = item.id;
    this.body = body as T;
    this.headers = item.headers ?? NO_HEADERS;
    this.enqueuedAt = item.enqueuedAt;
    this.priority = item.priority;
    this.correlationId = item.correlationId;
    this.group = item.group;
    this.subject = item.subject;
  }
}

/** Publishes waiting for one storage call (see `Topic.#storeLater`). */
interface PendingStore {
  readonly targets: readonly string[];
  readonly items: NewMessage[];
  readonly stored: Promise<void>;
  /** Makes the storage call; `stored` follows it. */
  readonly start: () => void;
}

/**
 * Publish/subscribe: every subscription gets its own copy of each message.
 *
 * - A **durable** subscription (`subscribe(name, handler, options)`) is a queue
 *   of its own named `` `${topic}:${name}` ``, with its own retries, backoff and
 *   dead-letter queue. It receives every matching message published after it was
 *   first created, whether or not a handler is attached; on FileStorage that
 *   survives a restart.
 * - A **live** listener (`subscribe(listener)`) hears matching publishes made in
 *   this process while it is attached: at most once, nothing stored.
 *
 * A publish stores its message for every matching durable subscription in one
 * storage operation: all of them or none. With no durable subscription matching,
 * nothing is stored. Subscriptions are recorded as a log of changes in the
 * internal queue `` `${name}::subscriptions` ``, which nobody should consume.
 *
 * ```ts
 * const events = new Topic<OrderEvent>('orders', { storage });
 * events.subscribe('billing', async (msg) => bill(msg.body), { filter: 'order.placed' });
 * events.subscribe((msg) => console.log(msg.subject));
 * await events.publish(evt, { subject: 'order.placed' });
 * ```
 */
export class Topic<T = unknown, In = T> extends Emitter<TopicEvents<T>> {
  /** The topic's name in its storage. */
  readonly name: string;
  /** The storage its subscriptions live in. */
  readonly storage: Storage;
  readonly #dedupeWindow: number;
  readonly #schema: StandardSchemaV1 | undefined;
  readonly #registry: TopicRegistry;
  readonly #attached = new Set<Subscription<T>>();
  /** The latest publishes of this tick waiting to be stored, all to the same targets. */
  #pending: PendingStore | undefined = undefined;
  /** This handle's publishes, for {@link Topic.metrics}. */
  readonly #metrics: MetricsRecorder;
  #closed = false;

  /** With `options.schema`, `T` and `In` are inferred from the schema (see {@link TopicOptions.schema}). */
  constructor(name: string, options?: TopicOptions<T, In>) {
    super();
    this.name = checkName('name', name);
    if (name.length > MAX_NAME_LENGTH - RECORD_SUFFIX.length) {
      throw expected('name', `a topic name of at most ${MAX_NAME_LENGTH - RECORD_SUFFIX.length} characters (its record queue adds "${RECORD_SUFFIX}")`, name, RangeError);
    }
    const o = options === undefined ? {} : checkObject('options', options);
    checkKeys('options', o, TOPIC_KEYS);
    this.storage = checkStorage(o.storage);
    this.#dedupeWindow = o.dedupeWindow === undefined ? DEFAULTS.dedupeWindow : checkMs('options.dedupeWindow', o.dedupeWindow);
    this.#schema = checkSchema('options.schema', o.schema);
    this.#registry = registryOf(this.storage, this.name);
    this.#metrics = new MetricsRecorder(this.storage.clock.now());
  }

  /**
   * Stores a copy of the message for every durable subscription whose filter
   * matches `options.subject` (in one storage operation: all or none), then calls
   * the matching live listeners and emits `'published'`. Resolves with the message id,
   * the same in every copy.
   * `body` follows the JSON rule of {@link Queue.send} (else `InvalidBodyError`), with or without subscribers.
   *
   * When no durable subscription matches, nothing is stored and the live listeners are
   * called before `publish()` returns, as an event emitter calls its listeners, provided
   * the topic has no schema, no earlier publish is still waiting to call them, and the
   * storage can tell at once that no subscription was recorded meanwhile (MemoryStorage
   * and FileStorage can; RedisStorage asks Redis first, so its listeners are called once
   * that answer comes).
   */
  publish(body: In, options?: PublishOptions): Promise<string> {
    if (this.#schema) return this.#publishValidated(body, options);
    // Not an async function: its frame and the closures of each `await` cost more than
    // a publish to live listeners does otherwise. One reaction to the shared read.
    let item: NewMessage;
    let read: Promise<unknown>;
    const hook = instrumentation.hook;
    let tracker: SendTracker | undefined;
    const registry = this.#registry;
    try {
      this.#checkOpen();
      item = this.#newMessage(body, options, 'options', 'body');
      if (hook !== undefined) {
        const items = [item];
        tracker = hook.send(this.name, items, 'publish');
        item = items[0]!;
      }
      if (registry.announcesAtOnce(item.subject)) {
        this.#published(item, 0, item.body);
        tracker?.end(undefined);
        return Promise.resolve(item.id);
      }
      read = registry.refresh();
    } catch (error) {
      tracker?.end(error);
      return Promise.reject(error);
    }
    registry.deferred++;
    const published = read.then(
      () => this.#publishRead(item),
      (error: unknown) => {
        registry.deferred--;
        throw error;
      },
    );
    if (tracker === undefined) return published;
    return published.then(
      (id) => {
        tracker.end(undefined);
        return id;
      },
      (error: unknown) => {
        tracker.end(error);
        throw error;
      },
    );
  }

  /** {@link Topic.publish} with a schema: the body is validated first, and stored only if it passes. */
  async #publishValidated(body: In, options: PublishOptions | undefined): Promise<string> {
    this.#checkOpen();
    resolveSendOptions(options, 'options');
    const registry = this.#registry;
    registry.deferred++;
    let item: NewMessage;
    let output: unknown;
    try {
      output = await validateWith(this.#schema!, body, { argument: 'body' });
      this.#checkOpen();
      item = this.#newMessage(body, options, 'options', 'body');
      await registry.refresh();
    } catch (error) {
      registry.deferred--;
      throw error;
    }
    return this.#publishRead(item, output);
  }

  /**
   * The rest of {@link Topic.publish} once the subscriptions are up to date; `output` is
   * the schema's. Counts the publish out of {@link TopicRegistry.deferred} whatever happens.
   */
  #publishRead(item: NewMessage, output: unknown = item.body): string | Promise<string> {
    const registry = this.#registry;
    const targets = registry.targets(item.subject);
    if (targets.length === 0) {
      registry.deferred--;
      this.#published(item, 0, output);
      return item.id;
    }
    return this.#storeLater(targets, item).then(
      () => {
        registry.deferred--;
        this.#published(item, targets.length, output);
        return item.id;
      },
      (error: unknown) => {
        registry.deferred--;
        throw error;
      },
    );
  }

  /**
   * Counts a publish that reached its `subscriptions` durable subscriptions, emits
   * `'published'` and calls the live listeners. The count goes in the rates' step of the
   * message's `enqueuedAt`: a second clock read per publish would cost ~0.25 µs on the bench's VM (docs/benchmarks.md).
   */
  #published(item: NewMessage, subscriptions: number, output: unknown): void {
    this.#metrics.recordSent(1, item.enqueuedAt);
    this.#announce(item, subscriptions, output);
  }

  /**
   * Publishes several messages. Each message reaches all its matching
   * subscriptions or none; messages with the same set of matching subscriptions
   * are stored together in one storage operation. With a `schema`, every body is
   * validated first: one invalid body rejects the batch (`ValidationError` naming it)
   * and none is published. Resolves with the ids in order.
   */
  async publishBatch(items: readonly BatchItem<In>[]): Promise<string[]> {
    this.#checkOpen();
    if (!Array.isArray(items)) throw expected('items', 'an array of { body, options }', items);
    items.forEach((item, i) => {
      if (typeof item !== 'object' || item === null || !('body' in item)) throw expected(`items[${i}]`, 'an object with a `body`', item);
      resolveSendOptions(item.options, `items[${i}].options`);
    });
    const schema = this.#schema;
    const outputs = schema ? await Promise.all(items.map((item, i) => validateWith(schema, item.body, { argument: `items[${i}].body` }))) : undefined;
    if (schema) this.#checkOpen();
    const messages = items.map((item, i) => this.#newMessage(item.body, item.options, `items[${i}].options`, `items[${i}].body`));
    if (messages.length === 0) return [];
    const tracker = instrumentation.hook?.send(this.name, messages, 'publish');
    this.#registry.deferred++;
    try {
      await this.#publishBatch(messages, outputs);
    } catch (error) {
      tracker?.end(error);
      throw error;
    } finally {
      this.#registry.deferred--;
    }
    tracker?.end(undefined);
    return messages.map((m) => m.id);
  }

  async #publishBatch(messages: readonly NewMessage[], outputs: readonly unknown[] | undefined): Promise<void> {
    await this.#registry.refresh();
    const groups = new Map<string, { targets: string[]; items: NewMessage[] }>();
    const counts: number[] = [];
    for (const message of messages) {
      const targets = this.#registry.targets(message.subject);
      counts.push(targets.length);
      if (targets.length === 0) continue;
      const sorted = [...targets].sort();
      const key = sorted.join('\n');
      const group = groups.get(key);
      if (group) group.items.push(message);
      else groups.set(key, { targets: sorted, items: [message] });
    }
    // Publishes made before this batch are stored first.
    this.#flush();
    for (const { targets, items: grouped } of groups.values()) await this.#store(targets, grouped);
    this.#metrics.recordSent(messages.length, this.storage.clock.now());
    for (let i = 0; i < messages.length; i++) this.#announce(messages[i]!, counts[i]!, outputs ? outputs[i] : messages[i]!.body);
  }

  /**
   * Stores `item` together with the publishes just before it in this tick when
   * they go to the same subscriptions (as {@link TopicRegistry.targets} gave them),
   * in one storage call made on a later microtask. Only a run of consecutive
   * publishes is joined, and a run's call is made before anything later is stored,
   * so every subscription gets its copies in publish order. The call is atomic:
   * each publish is still all or none, and a failure rejects every publish of the
   * call and stores none of them.
   */
  #storeLater(targets: readonly string[], item: NewMessage): Promise<void> {
    let pending = this.#pending;
    if (pending === undefined || pending.targets !== targets) {
      this.#flush();
      let start!: () => void;
      const items: NewMessage[] = [];
      const stored = new Promise<void>((resolve, reject) => {
        start = () => {
          try {
            resolve(this.storage.enqueueMany(targets, items, this.#dedupeWindow, this.storage.clock.now()));
          } catch (error) {
            reject(error);
          }
        };
      });
      const opened: PendingStore = { targets, items, stored, start };
      this.#pending = pending = opened;
      queueMicrotask(() => {
        if (this.#pending === opened) this.#flush();
      });
    }
    pending.items.push(item);
    return pending.stored;
  }

  /** Makes the storage call of the publishes waiting in {@link Topic.#storeLater}, if any. */
  #flush(): void {
    const pending = this.#pending;
    if (pending === undefined) return;
    this.#pending = undefined;
    pending.start();
  }

  async #store(targets: readonly string[], items: readonly NewMessage[]): Promise<void> {
    if (targets.length === 0) return;
    await this.storage.enqueueMany(targets, items, this.#dedupeWindow, this.storage.clock.now());
  }

  #newMessage(body: In, options: PublishOptions | undefined, prefix: string, bodyArgument: string): NewMessage {
    const o = resolveSendOptions(options, prefix);
    if (o.subject !== undefined) checkSubject(`${prefix}.subject`, o.subject);
    return newMessage(body, o, this.storage.clock.now(), this.storage.capabilities.checksBodies ? bodyArgument : undefined);
  }

  /** Emits `'published'` and calls the live listeners; nothing they do reaches the publisher. */
  #announce(item: NewMessage, subscriptions: number, output: unknown): void {
    const wantsEvent = this.listenerCount('published') > 0;
    const listeners = this.#registry.live.matchList(item.subject) as readonly LiveRecord<T>[];
    if (!wantsEvent && listeners.length === 0) return;
    const info = new PublishedMessage<T>(item, output);
    if (wantsEvent) this.emit('published', info, subscriptions);
    const clock = this.storage.clock;
    const track = clock.track;
    for (let i = 0; i < listeners.length; i++) {
      const record = listeners[i]!;
      if (record.paused) continue;
      try {
        const result = record.listener(info);
        if (result === undefined) continue;
        let settled: Promise<unknown> | undefined;
        // An `async` listener's promise is watched directly; another thenable is adopted first, so its `then` runs later.
        if (result instanceof Promise) settled = result.then(undefined, record.report);
        else if (isThenable(result)) settled = Promise.resolve(result).then(undefined, record.report);
        if (settled !== undefined && track !== undefined) track.call(clock, settled);
      } catch (error) {
        record.report(error);
      }
    }
  }

  /**
   * Attaches `handler` to the durable subscription `name`, creating and recording
   * it if it is new. Its messages wait in its own queue while no handler is
   * attached. Handlers that resolve ack; handlers that throw are retried with
   * the subscription's backoff and dead-lettered after `maxAttempts`, without
   * affecting other subscriptions.
   */
  subscribe(name: string, handler: Handler<T>, options?: SubscriptionOptions<T>): Subscription<T>;
  /** Attaches a live listener: called for matching publishes while attached; at most once; nothing stored. */
  subscribe(listener: LiveListener<T>, options?: LiveListenerOptions): Subscription<T>;
  subscribe(first: string | LiveListener<T>, second?: Handler<T> | LiveListenerOptions, third?: SubscriptionOptions): Subscription<T> {
    this.#checkOpen();
    if (typeof first === 'function') return this.#subscribeLive(first, second as LiveListenerOptions | undefined);
    if (typeof first !== 'string') throw expected('name', 'a subscription name or a listener function', first);
    return this.#subscribeDurable(first, second as Handler<T>, third);
  }

  #subscribeLive(listener: LiveListener<T>, options: LiveListenerOptions | undefined): Subscription<T> {
    const o = options === undefined ? {} : checkObject('options', options);
    checkKeys('options', o, ['filter']);
    const filter = o.filter === undefined ? undefined : checkFilter('options.filter', o.filter);
    const record: LiveRecord<T> = { listener, filter, paused: false, report: (error) => this.#error(error) };
    const live = this.#registry.live as SubjectIndex<LiveRecord<T>>;
    live.add(filter, record);
    const subscription = new Subscription<T>(undefined, filter, { kind: 'live', record }, Promise.resolve(), (s) => {
      live.delete(filter, record);
      this.#attached.delete(s);
    });
    this.#attached.add(subscription);
    return subscription;
  }

  #subscribeDurable(name: string, handler: Handler<T>, options: SubscriptionOptions | undefined): Subscription<T> {
    const queueName = this.subscriptionQueueName(name);
    checkFunction('handler', handler);
    const o = options === undefined ? {} : checkObject('options', options);
    checkKeys('options', o, SUBSCRIPTION_KEYS);
    const filter = o.filter === undefined ? undefined : checkFilter('options.filter', o.filter);
    const queueOptions = pick(o, SUBSCRIPTION_QUEUE_KEYS);
    const consumeOptions = pick(o, SUBSCRIPTION_CONSUME_KEYS);
    // Validate everything before recording anything.
    resolveQueueOptions(queueName, queueOptions);
    resolveConsumeOptions(consumeOptions);

    const queue = new Queue<T>(queueName, { schema: this.#schema as StandardSchemaV1<T> | undefined, ...queueOptions, storage: this.storage });
    queue.on('error', (error) => this.#error(error));
    const consumer = queue.consume(handler, consumeOptions);
    const ready = this.#registry.update(name, filter, false);
    const subscription = new Subscription<T>(name, filter, { kind: 'durable', queue, consumer }, ready, (s) => this.#attached.delete(s));
    this.#attached.add(subscription);
    ready.catch((error: unknown) => {
      this.#error(error);
      void subscription.stop();
    });
    return subscription;
  }

  /**
   * The name of the queue that holds durable subscription `name`'s messages
   * (`` `${topic}:${name}` ``); open a `Queue` on it to inspect or drain it.
   */
  subscriptionQueueName(name: string): string {
    checkName('name', name);
    if (name.includes(':')) throw expected('name', 'a subscription name without ":"', name);
    const queueName = queueNameOf(this.name, name);
    if (queueName.length > MAX_NAME_LENGTH) {
      throw expected('name', `a subscription name of at most ${MAX_NAME_LENGTH - this.name.length - 1} characters on topic "${this.name}"`, name, RangeError);
    }
    return queueName;
  }

  /**
   * The shape of `queue.metrics()` for this handle: `sent` and `rates.sentPerSec` count
   * its publishes (with or without subscribers); the delivery counters, handler durations
   * and error rate add up the durable subscriptions attached through this handle now.
   */
  metrics(): QueueMetrics {
    const recorders = [this.#metrics];
    for (const subscription of this.#attached) {
      const queue = subscription.queue;
      if (queue !== undefined) recorders.push(queue.metricsRecorder);
    }
    return snapshot(recorders, this.storage.clock.now());
  }

  /** The durable subscriptions recorded in the storage, with their filters. */
  async subscriptions(): Promise<SubscriptionInfo[]> {
    this.#checkOpen();
    const subs = await this.#registry.refresh();
    return [...subs].map(([name, filter]) => ({ name, filter, queue: queueNameOf(this.name, name) }));
  }

  /**
   * Detaches this handle's handlers from durable subscription `name`, gracefully.
   * The subscription stays recorded and keeps collecting messages.
   */
  async unsubscribe(name: string): Promise<void> {
    this.subscriptionQueueName(name);
    await Promise.all([...this.#attached].filter((s) => s.name === name).map((s) => s.stop()));
  }

  /**
   * Deletes durable subscription `name`: detaches this handle's handlers, stops
   * recording new messages for it, and removes its waiting messages. Its
   * dead-letter queue is left alone. Resolves with how many messages were removed.
   */
  async deleteSubscription(name: string): Promise<number> {
    this.#checkOpen();
    const queueName = this.subscriptionQueueName(name);
    await this.unsubscribe(name);
    await this.#registry.update(name, undefined, true);
    return this.storage.purge(queueName, this.storage.clock.now());
  }

  /**
   * Detaches every subscription and listener of this handle (gracefully) and
   * makes later calls reject with `ClosedError`. Durable subscriptions stay
   * recorded; the storage stays open.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#attached].map((s) => s.stop()));
  }

  /** Closes the handle, as {@link Topic.close}: `await using topic = new Topic(...)` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return disposeWith(() => this.close());
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError(`Topic "${this.name}" is closed`);
  }

  #error(error: unknown): void {
    reportError(this, error, `topic "${this.name}"`);
  }
}
