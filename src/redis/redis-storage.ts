import { Redis, type Cluster } from 'ioredis';
import { checkClock, type Clock, systemClock } from '../clock.js';
import { ClosedError, InvalidArgumentError, PocketMQError } from '../errors.js';
import { disposeWith } from '../dispose.js';
import { randomId } from '../ids.js';
import { checkKeys, checkObject, expected, isName } from '../validate.js';
import { DEAD_LETTER_HEADERS } from '../dead-letter-headers.js';
import { redrivenHeaders, redriveTarget } from '../engine/redrive.js';
import { CodecChain, type Codec, checkCodecs } from '../storage/body-codec.js';
import { BodyLines, PLAIN_LINES } from './body-lines.js';
import { crossSlotError, keyBase, type RedisKeyTag, tagOf } from './key-tag.js';
import { SCRIPT, type Operation } from './lua/script.js';
import { decodeSchedule, encodeSchedule } from './schedule-codec.js';
import { decodeClaim, decodeDeadLettered, decodeRecord, decodeRecords, encodeItems, encodeRecord, RECORD_FIELDS, type Reply } from './record-codec.js';
import type {
  BrowsedMessage,
  ClaimRequest,
  ClaimResult,
  DeadLetterInfo,
  EnqueuePolicy,
  EnqueueResult,
  FireResult,
  MessageState,
  NewMessage,
  QueueStats,
  Receipt,
  RedriveRequest,
  ScheduleAdvance,
  Settle,
  Storage,
  StorageCapabilities,
  StorageSignal,
  StoredMessage,
  StoredSchedule,
} from '../storage/storage.js';
import { readySignal } from '../storage/queue-signals.js';

/** Options of {@link RedisStorage}. Give `client` or `url`, not both. */
export interface RedisStorageOptions {
  /**
   * An ioredis client (`Redis` or `Cluster`) to run on. The storage defines its
   * scripts on it, opens one more connection from it (`duplicate()`) for pub/sub,
   * and leaves it open on `close()`. Give it `maxRetriesPerRequest: 0` and
   * `autoResendUnfulfilledCommands: false` so that a command cut off by a
   * connection loss rejects instead of being sent again after the reconnect.
   */
  client?: Redis | Cluster;
  /** A `redis://` URL: the storage makes its own client with the options above, and closes it on `close()`. */
  url?: string;
  /**
   * Start of every key and of the pub/sub channel: storages with the same prefix on
   * the same Redis share their queues. Letters, digits and `. _ - : /`.
   * @defaultValue `'pocketmq'`
   */
  prefix?: string;
  /**
   * Which queues share a Redis Cluster slot. A script can touch the keys of one slot
   * only, so queues that one operation touches together (a queue and its dead-letter
   * queue, a topic's subscriptions) must share one.
   * - `'family'`: queues whose names are the same up to the first `.` or `:` share a
   *   slot ({@link queueFamily}): `orders`, `orders.dlq`, `orders.reply.<id>` and a topic
   *   `orders` with its subscription queues `orders:billing` are one family, tagged
   *   `{prefix:orders}`, while other families spread over the cluster's nodes.
   * - `'queue'`: each queue has a slot of its own (`{prefix:queue}`), so on Cluster only
   *   queues with `deadLetter: false` work.
   * - `'storage'`: every key is tagged `{prefix}`, so the whole prefix lives on one node.
   * - a function of the queue name that returns its group: keys are tagged `{prefix:group}`.
   *
   * On Cluster an operation that would touch two slots rejects with a `PocketMQError` of
   * code `'ERR_REDIS_CROSS_SLOT'` and changes nothing, except topic fan-out, which is one
   * script per slot. On a single Redis server every choice works. Changing it changes
   * where a queue's keys are, so existing queues look empty. See docs/redis.md.
   * @defaultValue `'family'`
   */
  keyTag?: RedisKeyTag;
  /** Time source of this process; every operation passes its `now` to Redis. @defaultValue the system clock */
  clock?: Clock;
  /**
   * Codecs every stored body goes through, in order, before it is written (in reverse when
   * read): `encryption()` and `signing()` from `pocketmq/crypto`, or `[signing(...),
   * encryption(...)]` to sign, then encrypt. Bodies are then ciphertext (or signed) in
   * every Redis value, dead-letter copies and schedule bodies included. A body they cannot
   * read back is dead-lettered with reason `'undecryptable'` or `'bad-signature'` when
   * claimed, never handed to a handler. Every process sharing the prefix needs codecs that
   * read what the others write; a process that only consumes may pass a `signing()` codec
   * with public keys alone. Bodies written without codecs count as unreadable.
   * See docs/security.md.
   * @defaultValue none: bodies are stored as JSON
   */
  codec?: Codec | readonly Codec[];
}

/** See {@link RedisStorageOptions.keyTag}. */
const DEFAULT_KEY_TAG: RedisKeyTag = 'family';
const KEY_TAGS = ['family', 'queue', 'storage'] as const;

/** The name the script is defined under on the client (ioredis `defineCommand`). */
const COMMAND = 'pocketmq';

type Client = Redis | Cluster;

/** How deep one step of a redrive looks past messages that stay (without an origin). */
const REDRIVE_LOOK_LIMIT = 10_000;
/** Steps in a row that may move nothing (each met a message sent since it listed) before a redrive ends. */
const REDRIVE_IDLE_STEPS = 3;

/** `text` with Redis glob characters escaped, for a SCAN MATCH pattern. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** The script as ioredis's `defineCommand` adds it to a client. */
type ScriptCommand = Record<typeof COMMAND, (...args: unknown[]) => Promise<[unknown, Reply, Reply]>>;

const PREFIX = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$/;
/** Consecutive enqueue calls of one tick merged into one script, at most: bounds how long one script holds Redis. */
const MAX_MERGED_ENQUEUES = 500;

/** Enqueue calls of one tick with the same queue, policy and `now`, sent as one script. */
interface EnqueueGroup {
  readonly key: string;
  readonly policy: EnqueuePolicy;
  readonly now: number;
  readonly calls: { items: readonly NewMessage[]; args: (string | number)[]; resolve: (result: EnqueueResult) => void; reject: (error: unknown) => void }[];
}

/** An ack call waiting for the end of its turn, to go out with a claim on its queue if one comes. */
interface PendingAck {
  readonly args: string[];
  readonly now: number;
  readonly resolve: (settles: Settle[]) => void;
  readonly reject: (error: unknown) => void;
}

/** The result of one enqueue segment of the script (see lua/enqueue.ts); `undefined` for a segment of no items. */
function enqueueResult(items: readonly NewMessage[], r: [number, Reply, Reply] | 0 | undefined, lines: BodyLines): EnqueueResult {
  if (r === 0 || r === undefined) {
    // Every item stored under its own id, nothing dropped.
    const results: { id: string; status: 'stored' }[] = new Array(items.length);
    for (let i = 0; i < items.length; i++) results[i] = { id: items[i]!.id, status: 'stored' };
    return { results, full: false, dropped: [] };
  }
  if (r[0] === 1) return { results: [], full: true, dropped: [] };
  const results: { id: string; status: 'stored' | 'duplicate' }[] = [];
  for (let i = 0; i < r[1].length; i += 2) results.push({ id: r[1][i] as string, status: r[1][i + 1] as 'stored' | 'duplicate' });
  return { results, full: false, dropped: decodeDeadLettered(r[2], lines) };
}

/** How long the scheduler waits before ticking again after a failed tick. */
const TICK_RETRY_MS = 1_000;
/** Closes a connection: politely when it is up, at once when it is not (a QUIT would wait for a reconnect). */
async function quit(client: Client): Promise<void> {
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  await client.quit().catch(() => client.disconnect());
}

/** Resolves when the client is connected, rejects on its first error before that. */
function whenReady(client: Client): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      client.off('ready', onReady);
      client.off('error', onError);
      client.off('end', onEnd);
      if (error) reject(error);
      else resolve();
    };
    const onReady = () => done();
    const onError = (error: Error) => done(error);
    const onEnd = () => done(new PocketMQError('ERR_REDIS', 'the connection was closed'));
    client.on('ready', onReady);
    client.on('error', onError);
    client.on('end', onEnd);
    if (client.status === 'wait' || client.status === 'end') client.connect().catch(() => undefined);
  });
}

const REDIS_CAPABILITIES: StorageCapabilities = Object.freeze({ drainedSignals: false, appliesAtCall: true, checksBodies: true });

/**
 * Keeps queues in Redis so that many processes and machines share them, with the
 * semantics of MemoryStorage: every operation is one Lua script, atomic on the
 * server, given the caller's `now`. Consumers in other processes are woken over
 * pub/sub; nothing polls.
 *
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RedisStorage } from 'pocketmq/redis';
 * const storage = new RedisStorage({ client: new Redis(), prefix: 'myapp' });
 * const orders = new Queue('orders', { storage });
 * ```
 *
 * When the connection is lost, operations reject with a `PocketMQError` of code
 * `'ERR_REDIS'`; consumers wait, and resume when the connection is back.
 * `docs/redis.md` describes the key layout, Redis Cluster and clock skew.
 */
export class RedisStorage implements Storage {
  /** Scripts go out when called, on one connection, and Redis runs them in order; no drained signals; bodies are JSON. */
  readonly capabilities: StorageCapabilities = REDIS_CAPABILITIES;
  readonly clock: Clock;
  /** The prefix of every key and of the pub/sub channel. */
  readonly prefix: string;
  readonly #client: Client;
  readonly #ownsClient: boolean;
  readonly #keyTag: RedisKeyTag;
  /** How bodies are stored: through `options.codec`, or as JSON. */
  readonly #lines: BodyLines;
  /** Only a Cluster refuses scripts whose keys span slots; a single server takes any. */
  readonly #isCluster: boolean;
  /** Per queue, its hash tag and the start of its keys, made once. */
  readonly #keys = new Map<string, { tag: string; base: string }>();
  readonly #channel: string;
  /** Where a change of any schedule is announced (the message is the announcer's id): other processes re-read their earliest tick. */
  readonly #scheduleChannel: string;
  /**
   * The set of queue names that have (or had) schedules: what `listSchedules()` of every
   * queue reads. Never trimmed, so a racing `unschedule()` cannot hide a new schedule.
   */
  readonly #scheduledQueues: string;
  /** The earliest schedule tick last signalled. */
  #scheduleAt: number | undefined = undefined;
  /** A re-read of the schedules in progress, and whether another was asked for during it. */
  #scheduleRefresh: Promise<void> | undefined = undefined;
  #scheduleRefreshAgain = false;
  /** Tells this storage's own announcements apart from other processes'. */
  readonly #self = randomId();
  #subscriber: Client | undefined = undefined;
  #opening: Promise<void> | undefined = undefined;
  #opened = false;
  #closed = false;
  #watchers: ((signal: StorageSignal) => void)[] = [];
  /** Queues this storage has operated on: the version and earliest due time last heard of each. */
  readonly #queues = new Map<string, { version: number; due: number | undefined }>();
  /** Enqueue calls of this tick not yet sent, per queue, merged where they can be. */
  #enqueues = new Map<string, EnqueueGroup[]>();
  #flushQueued = false;
  /** Per queue, the acks of this turn not sent yet (see ack()). */
  readonly #acks = new Map<string, PendingAck>();
  /** This tick's writes are held (see #corkThisTick). */
  #corked = false;
  #lastDue: number | undefined = undefined;
  /** Set while the connection is down: no due time is reported until a resync. */
  #stale = false;
  #lastError: Error | undefined = undefined;
  readonly #onError = (error: Error) => {
    this.#lastError = error;
  };
  readonly #onReady = () => {
    if (this.#opened && !this.#closed) void this.#resync();
  };

  constructor(options: RedisStorageOptions) {
    const o = checkObject('options', options);
    checkKeys('options', o, ['client', 'url', 'prefix', 'keyTag', 'clock', 'codec']);
    if ((o.client === undefined) === (o.url === undefined)) {
      throw new InvalidArgumentError('options.client', 'Expected exactly one of `options.client` (an ioredis client) and `options.url` (a redis:// URL)');
    }
    if (o.client !== undefined && (typeof o.client !== 'object' || o.client === null || typeof (o.client as Client).defineCommand !== 'function')) {
      throw expected('options.client', 'an ioredis client (Redis or Cluster)', o.client);
    }
    if (o.url !== undefined && (typeof o.url !== 'string' || !/^rediss?:\/\//.test(o.url))) {
      throw expected('options.url', 'a redis:// or rediss:// URL', o.url);
    }
    const prefix = o.prefix ?? 'pocketmq';
    if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
      throw expected('options.prefix', 'a prefix of 1-100 letters, digits or . _ - : / that starts with a letter or digit', prefix);
    }
    const clock = checkClock('options.clock', o.clock);
    if (o.keyTag !== undefined && typeof o.keyTag !== 'function' && !KEY_TAGS.includes(o.keyTag as never)) {
      throw expected('options.keyTag', "'family', 'queue', 'storage' or a function (queue) => string", o.keyTag);
    }
    const codecs = checkCodecs('options.codec', o.codec);
    this.#lines = codecs === undefined ? PLAIN_LINES : new BodyLines(new CodecChain(codecs));
    this.#isCluster = (o.client as { isCluster?: boolean } | undefined)?.isCluster === true;
    this.#keyTag = (o.keyTag as RedisKeyTag | undefined) ?? DEFAULT_KEY_TAG;
    this.clock = clock ?? systemClock;
    this.prefix = prefix;
    this.#channel = `${prefix}:signals`;
    this.#scheduleChannel = `${prefix}:schedules`;
    this.#scheduledQueues = `${prefix}:scheduled-queues`;
    if (o.url !== undefined) {
      // No auto-pipelining: it holds every command back to the next event-loop turn (setImmediate),
      // a delay on each awaited round trip, and enqueue() already merges the sends of one tick.
      this.#client = new Redis(o.url as string, { lazyConnect: true, maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false });
      this.#client.on('error', this.#onError);
      this.#ownsClient = true;
    } else {
      this.#client = o.client as Client;
      this.#ownsClient = false;
    }
  }

  /** Connects, loads the scripts and subscribes; rejects with `ERR_REDIS` when Redis cannot be reached. */
  open(): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError('Storage is closed'));
    this.#opening ??= this.#connect().catch((error: unknown) => {
      this.#opening = undefined;
      // A client of our own would otherwise keep reconnecting (and the process alive); the next call tries again.
      if (this.#ownsClient) this.#client.disconnect();
      this.#subscriber?.disconnect();
      throw this.#failure('open', error, false);
    });
    return this.#opening;
  }

  async #connect(): Promise<void> {
    const client = this.#client;
    await whenReady(client);
    client.defineCommand(COMMAND, { lua: SCRIPT });
    let subscriber = this.#subscriber;
    if (!subscriber) {
      subscriber = client.duplicate();
      this.#subscriber = subscriber;
      subscriber.on('error', this.#onError);
      subscriber.on('message', (channel: string, message: string) => {
        if (channel === this.#channel) this.#onAnnouncement(message);
        else if (channel === this.#scheduleChannel && message !== this.#self) this.#refreshSchedules();
      });
    }
    await whenReady(subscriber);
    await subscriber.subscribe(this.#channel, this.#scheduleChannel);
    // Announcements missed while either connection was down are made up for by a resync.
    client.on('ready', this.#onReady);
    subscriber.on('ready', this.#onReady);
    this.#opened = true;
    this.#refreshSchedules();
  }

  /** Closes the storage, as {@link RedisStorage.close}: `await using storage = new RedisStorage(...)` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return disposeWith(() => this.close());
  }

  /** Unsubscribes and closes the connections the storage opened; later calls reject with `ClosedError`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Waiters and the scheduler's timer let go, so a process whose work is done can exit.
    this.#send(this.#watchers, { type: 'closed' });
    const client = this.#client;
    client.off('ready', this.#onReady);
    const subscriber = this.#subscriber;
    if (subscriber) {
      subscriber.off('ready', this.#onReady);
      await quit(subscriber);
    }
    if (this.#ownsClient) await quit(client);
    this.#queues.clear();
  }

  watch(listener: (signal: StorageSignal) => void): () => void {
    this.#watchers = [...this.#watchers, listener];
    // A watcher that comes after the schedules were read still learns when they tick.
    // Told on the next microtask, as any signal: never from inside watch().
    if (this.#scheduleAt !== undefined) {
      queueMicrotask(() => {
        const at = this.#scheduleAt;
        if (at !== undefined && this.#watchers.includes(listener)) listener({ type: 'schedules', at });
      });
    }
    return () => {
      this.#watchers = this.#watchers.filter((w) => w !== listener);
    };
  }

  /**
   * Enqueue calls made in one tick for one queue with the same policy and `now` go to
   * Redis as one script (like a file log's group commit): each call is still applied
   * whole and in order, and 1,000 sends in flight cost a few scripts, not 1,000.
   */
  enqueue(queue: string, items: readonly NewMessage[], policy: EnqueuePolicy, now: number): Promise<EnqueueResult> {
    return this.#track(
      () =>
        new Promise<EnqueueResult>((resolve, reject) => {
          this.#checkOpen();
          const args: (string | number)[] = [];
          encodeItems(items, now, args, this.#lines);
          const key = `${now}|${policy.maxLength ?? ''}|${policy.overflow}|${policy.deadLetter}|${policy.dedupeWindow}`;
          let groups = this.#enqueues.get(queue);
          if (!groups) this.#enqueues.set(queue, (groups = []));
          let group = groups[groups.length - 1];
          if (!group || group.key !== key || group.calls.length >= MAX_MERGED_ENQUEUES) {
            group = { key, policy, now, calls: [] };
            groups.push(group);
          }
          group.calls.push({ items, args, resolve, reject });
          if (!this.#flushQueued) {
            this.#flushQueued = true;
            queueMicrotask(() => this.#flushEnqueues());
          }
        }),
    );
  }

  #flushEnqueues(): void {
    this.#flushQueued = false;
    const pending = this.#enqueues;
    this.#enqueues = new Map();
    // Groups of one queue are sent in call order on one connection, so Redis runs them in that order.
    for (const [queue, groups] of pending) for (const group of groups) void this.#enqueueGroup(queue, group);
  }

  async #enqueueGroup(queue: string, { policy, now, calls }: EnqueueGroup): Promise<void> {
    try {
      const args: (string | number)[] = [policy.maxLength === undefined ? '' : policy.maxLength, policy.overflow, policy.dedupeWindow];
      for (const call of calls) for (const arg of call.args) args.push(arg);
      const dlq = policy.maxLength !== undefined && policy.overflow === 'drop-oldest' && policy.deadLetter !== false ? [policy.deadLetter] : [];
      const segments = (await this.#run('enqueue', [queue, ...dlq], now, args)) as ([number, Reply, Reply] | 0)[];
      for (let k = 0; k < calls.length; k++) calls[k]!.resolve(enqueueResult(calls[k]!.items, segments[k]!, this.#lines));
    } catch (error) {
      for (const call of calls) call.reject(error);
    }
  }

  enqueueMany(queues: readonly string[], items: readonly NewMessage[], dedupeWindow: number, now: number): Promise<void> {
    return this.#track(async () => {
      if (queues.length === 0 || items.length === 0) return;
      const args: (string | number)[] = [dedupeWindow];
      encodeItems(items, now, args, this.#lines);
      const targets = [...new Set(queues)];
      if (!this.#isCluster) {
        await this.#run('enqueueMany', targets, now, args);
        return;
      }
      // A script touches one slot: one script per slot, each all or nothing for its queues.
      const bySlot = new Map<string, string[]>();
      for (const queue of targets) {
        const tag = this.#keysOf(queue).tag;
        const group = bySlot.get(tag);
        if (group) group.push(queue);
        else bySlot.set(tag, [queue]);
      }
      await Promise.all([...bySlot.values()].map((group) => this.#run('enqueueMany', group, now, args)));
    });
  }

  claim(queue: string, request: ClaimRequest, now: number): Promise<ClaimResult> {
    return this.#track(async () => {
      const dlq = request.deadLetter === false ? [] : [request.deadLetter];
      // Before a held ack joins the claim, so that the refusal does not fail the ack too.
      this.#checkOneSlot('claim', [queue, ...dlq]);
      const args: (string | number)[] = [request.max, request.leaseMs, request.maxAttempts];
      const ack = this.#takeAck(queue);
      if (ack && ack.now !== now) this.#sendAck(queue, ack);
      if (!ack || ack.now !== now) return decodeClaim((await this.#run('claim', [queue, ...dlq], now, args)) as Reply, 0, this.#lines);
      for (const arg of ack.args) args.push(arg);
      let reply: [Settle[], Reply, Reply];
      try {
        reply = (await this.#run('ackClaim', [queue, ...dlq], now, args)) as [Settle[], Reply, Reply];
      } catch (error) {
        ack.reject(error);
        throw error;
      }
      ack.resolve(reply[0]);
      return decodeClaim(reply, 1, this.#lines);
    });
  }

  /**
   * Acks wait for the end of the turn: a claim on the same queue in that turn (a
   * consumer's next claim, made right behind its acks) goes out with them as one
   * script, acks first. Otherwise they go alone at the end of the turn, or as soon as
   * another operation is called, ahead of it: Redis applies operations in call order.
   */
  ack(queue: string, receipts: readonly Receipt[], now: number): Promise<Settle[]> {
    return this.#track(
      () =>
        new Promise<Settle[]>((resolve, reject) => {
          this.#checkOpen();
          if (receipts.length === 0) {
            resolve([]);
            return;
          }
          const args: string[] = [];
          for (const receipt of receipts) args.push(receipt.id, String(receipt.token));
          const earlier = this.#takeAck(queue);
          if (earlier) this.#sendAck(queue, earlier);
          const ack: PendingAck = { args, now, resolve, reject };
          this.#acks.set(queue, ack);
          queueMicrotask(() => {
            if (this.#acks.get(queue) !== ack) return;
            this.#acks.delete(queue);
            this.#sendAck(queue, ack);
          });
        }),
    );
  }

  #takeAck(queue: string): PendingAck | undefined {
    const ack = this.#acks.get(queue);
    if (ack) this.#acks.delete(queue);
    return ack;
  }

  #sendHeldAcks(): void {
    if (this.#acks.size === 0) return;
    const held = [...this.#acks];
    this.#acks.clear();
    for (const [queue, ack] of held) this.#sendAck(queue, ack);
  }

  #sendAck(queue: string, ack: PendingAck): void {
    this.#run('ack', [queue], ack.now, ack.args).then((settles) => ack.resolve(settles as Settle[]), ack.reject);
  }

  release(queue: string, receipt: Receipt, dueAt: number, now: number): Promise<Settle> {
    return this.#track(async () => {
      const args = [receipt.id, String(receipt.token), String(dueAt)];
      return (await this.#run('release', [queue], now, args)) as Settle;
    });
  }

  deadLetter(queue: string, receipt: Receipt, target: string | false, info: DeadLetterInfo, now: number): Promise<Settle> {
    return this.#track(async () => {
      const queues = target === false ? [queue] : [queue, target];
      const args = [receipt.id, String(receipt.token), info.reason, info.error === undefined ? '0' : '1', info.error ?? ''];
      return (await this.#run('deadLetter', queues, now, args)) as Settle;
    });
  }

  extend(queue: string, receipt: Receipt, leaseUntil: number, now: number): Promise<Settle> {
    return this.#track(async () => {
      const args = [receipt.id, String(receipt.token), String(leaseUntil)];
      return (await this.#run('extend', [queue], now, args)) as Settle;
    });
  }

  stats(queue: string, now: number): Promise<QueueStats> {
    return this.#track(async () => {
      const c = ((await this.#run('stats', [queue], now, [])) as (string | null)[]).map((v) => Number(v ?? 0));
      return {
        ready: c[0]! + c[2]!,
        delayed: c[1]!,
        inflight: c[3]!,
        sent: c[4]!,
        delivered: c[5]!,
        acked: c[6]!,
        retried: c[7]!,
        deadLettered: c[8]!,
        expired: c[9]!,
      };
    });
  }

  purge(queue: string, now: number): Promise<number> {
    return this.#track(async () => (await this.#run('purge', [queue], now, [])) as number);
  }

  forget(queue: string, now: number): Promise<boolean> {
    return this.#track(async () => {
      const forgotten = (await this.#run('forget', [queue], now, [])) === 1;
      if (forgotten) this.#queues.delete(queue);
      return forgotten;
    });
  }

  putSchedule(queue: string, schedule: StoredSchedule): Promise<void> {
    return this.#track(async () => {
      await this.#ready('putSchedule');
      const text = encodeSchedule(queue, schedule, this.#lines);
      try {
        // Listed first: a process listing every queue's schedules never misses one stored.
        await this.#client.sadd(this.#scheduledQueues, queue);
        await this.#client.hset(this.#scheduleKey(queue), schedule.id, text);
      } catch (error) {
        throw this.#failure('putSchedule', error, true);
      }
      this.#schedulesChanged();
    });
  }

  deleteSchedule(queue: string, id: string): Promise<boolean> {
    return this.#track(async () => {
      await this.#ready('deleteSchedule');
      let removed: number;
      try {
        removed = await this.#client.hdel(this.#scheduleKey(queue), id);
      } catch (error) {
        throw this.#failure('deleteSchedule', error, true);
      }
      if (removed > 0) this.#schedulesChanged();
      return removed > 0;
    });
  }

  listSchedules(queue: string | undefined): Promise<{ queue: string; schedule: StoredSchedule }[]> {
    return this.#track(async () => {
      await this.#ready('listSchedules');
      const out: { queue: string; schedule: StoredSchedule }[] = [];
      try {
        const queues = queue === undefined ? (await this.#client.smembers(this.#scheduledQueues)).sort() : [queue];
        const hashes = await Promise.all(queues.map((q) => this.#client.hgetall(this.#scheduleKey(q))));
        for (let i = 0; i < queues.length; i++) {
          const hash = hashes[i]!;
          for (const id of Object.keys(hash).sort()) out.push({ queue: queues[i]!, schedule: decodeSchedule(queues[i]!, id, hash[id]!, this.#lines).schedule });
        }
      } catch (error) {
        throw this.#failure('listSchedules', error, true);
      }
      return out;
    });
  }

  fireSchedule(queue: string, id: string, expectedNext: number, update: ScheduleAdvance, items: readonly NewMessage[], now: number): Promise<FireResult> {
    return this.#track(async () => {
      await this.#ready('fireSchedule');
      let text: string | null;
      try {
        text = await this.#client.hget(this.#scheduleKey(queue), id);
      } catch (error) {
        throw this.#failure('fireSchedule', error, true);
      }
      if (text === null) return 'stale';
      // The policy (and the dead-letter queue's keys) come from the stored schedule; the script checks `next` again.
      const { schedule, nextText } = decodeSchedule(queue, id, text, this.#lines);
      if (schedule.next !== expectedNext) return 'stale';
      const advanced = update.next === undefined ? '' : encodeSchedule(queue, { ...schedule, next: update.next, last: update.last, count: update.count }, this.#lines);
      const { policy } = schedule;
      const args: (string | number)[] = [id, nextText, advanced, policy.maxLength === undefined ? '' : policy.maxLength, policy.overflow, policy.dedupeWindow];
      if (items.length > 0) encodeItems(items, now, args, this.#lines);
      const dlq = policy.maxLength !== undefined && policy.overflow === 'drop-oldest' && policy.deadLetter !== false ? [policy.deadLetter] : [];
      const reply = (await this.#run('fireSchedule', [queue, ...dlq], now, args)) as 'stale' | ([number, Reply, Reply] | 0)[];
      if (reply === 'stale') return 'stale';
      this.#schedulesChanged();
      return enqueueResult(items, reply[0], this.#lines);
    });
  }

  #scheduleKey(queue: string): string {
    return `${this.#keysOf(queue).base}:sch`;
  }

  /** This process changed a schedule: tell the others, and re-read the earliest tick. */
  #schedulesChanged(): void {
    this.#client.publish(this.#scheduleChannel, this.#self).catch(() => undefined);
    this.#refreshSchedules();
  }

  /**
   * Re-reads every schedule's next tick and signals the earliest: at open, after a
   * reconnect, after a change here or announced by another process. Never polls.
   * A failed read is retried at the next of those; the schedules stay stored meanwhile.
   */
  #refreshSchedules(): void {
    if (this.#scheduleRefresh) {
      this.#scheduleRefreshAgain = true;
      return;
    }
    this.#scheduleRefresh = this.listSchedules(undefined)
      .then(
        (all) => {
          let at: number | undefined;
          for (const { schedule } of all) if (at === undefined || schedule.next < at) at = schedule.next;
          this.#scheduleAt = at;
          if (!this.#closed) this.#send(this.#watchers, { type: 'schedules', at });
        },
        () => undefined,
      )
      .finally(() => {
        this.#scheduleRefresh = undefined;
        if (this.#scheduleRefreshAgain && !this.#closed) {
          this.#scheduleRefreshAgain = false;
          this.#refreshSchedules();
        }
      });
  }

  peek(queue: string, max: number, now: number): Promise<StoredMessage[]> {
    return this.#track(async () => {
      return decodeRecords((await this.#run('peek', [queue], now, [max])) as Reply, this.#lines);
    });
  }

  /** Removes one waiting message by id: see {@link Storage.remove}. */
  remove(queue: string, id: string, now: number): Promise<boolean> {
    return this.#track(async () => (await this.#run('remove', [queue], now, [id])) === 1);
  }

  /** Lists messages of one state without leasing them: see {@link Storage.browse}. Delayed and in-flight ones cost a read of the queue's hash. */
  browse(queue: string, state: MessageState, max: number, now: number): Promise<BrowsedMessage[]> {
    return this.#track(async () => {
      const [records, leaseEnds] = (await this.#run('browse', [queue], now, [state, max])) as [Reply, Reply];
      return decodeRecords(records, this.#lines).map((message, i) => ({ message, leaseUntil: state === 'inflight' ? Number(leaseEnds[i]) : undefined }));
    });
  }

  /**
   * In steps: lists the ready messages (at most 10,000 deep), decides
   * each one's target and new headers here, then moves those still ready in one script,
   * in delivery order: atomic per message and per step. A step stops at a ready message
   * it did not list (a group member its head's move made ready), and the next step lists
   * again. On a Cluster every target must share the queue's slot, or the step rejects
   * with `'ERR_REDIS_CROSS_SLOT'`, moving nothing.
   */
  redrive(queue: string, request: RedriveRequest, now: number): Promise<number> {
    return this.#track(async () => {
      const { max, to } = request;
      if (to !== undefined && (!isName(to) || to === queue)) throw expected('request.to', `a valid queue name other than "${queue}"`, to);
      let moved = 0;
      // A step that moved nothing but met an unlisted message (one sent since its listing) is
      // tried again, a few times: messages arriving without end must not hold the redrive.
      for (let idle = 0; moved < max && idle < REDRIVE_IDLE_STEPS; ) {
        const [count, unlisted] = await this.#redriveStep(queue, max - moved, to, now);
        moved += count;
        if (unlisted === 0) break;
        idle = count === 0 ? idle + 1 : 0;
      }
      return moved;
    });
  }

  /** One step of {@link RedisStorage.redrive}: resolves with how many moved and whether it stopped at an unlisted message (1). */
  async #redriveStep(queue: string, max: number, to: string | undefined, now: number): Promise<[number, number]> {
    let look = Math.min(max, REDRIVE_LOOK_LIMIT);
    let chosen: { message: StoredMessage; target: string }[];
    let stays: string[];
    for (;;) {
      const listed = await this.browse(queue, 'ready', look, now);
      chosen = [];
      stays = [];
      for (const { message } of listed) {
        const target = redriveTarget(message, queue, to, DEAD_LETTER_HEADERS, isName);
        if (target === undefined) stays.push(message.id);
        else chosen.push({ message, target });
      }
      // Messages that stay may hide movable ones behind them: look deeper, up to the limit.
      if (chosen.length >= max || listed.length < look || look >= REDRIVE_LOOK_LIMIT) break;
      look = Math.min(look * 4, REDRIVE_LOOK_LIMIT);
    }
    if (chosen.length === 0) return [0, 0];
    const targets: string[] = [];
    const args: (string | number)[] = [max, stays.length, ...stays];
    for (const { message, target } of chosen) {
      let index = targets.indexOf(target);
      if (index < 0) index = targets.push(target) - 1;
      const moved: NewMessage = { ...message, headers: redrivenHeaders(message.headers, DEAD_LETTER_HEADERS), enqueuedAt: now, availableAt: now, expiresAt: undefined, dedupeId: undefined };
      // KEYS is 1-based in Lua and the queue itself comes first.
      // The stored body as it is: the id stays, so it still decodes, and a verify-only signing codec can move it.
      args.push(message.id, index + 2, encodeRecord(moved, this.#lines, this.#lines.storedOf(message)));
    }
    return (await this.#run('redrive', [queue, ...targets], now, args)) as [number, number];
  }

  /**
   * The queues of this prefix that hold messages or counters (those with a counters hash),
   * by a SCAN of every node; the queues pocketmq keeps for itself are left out.
   */
  queues(_now: number): Promise<string[]> {
    return this.#track(async () => {
      await this.#ready('queues');
      const nodes: Redis[] = this.#isCluster ? (this.#client as Cluster).nodes('master') : [this.#client as Redis];
      const pattern = `${globEscape(this.#keyTag === 'storage' ? `{${this.prefix}}:` : `{${this.prefix}:`)}*:s`;
      const found = new Map<string, string>();
      const names: string[] = [];
      try {
        for (const node of nodes) {
          let cursor = '0';
          do {
            const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
            cursor = next;
            for (const key of keys) {
              const name = this.#queueOfCountersKey(key);
              if (name !== undefined) found.set(name, key);
            }
          } while (cursor !== '0');
        }
        // A look at a queue never sent to (stats, peek) leaves a counters hash holding only its
        // version: such a queue holds nothing, as on the engine storages. Every stored message counted in `sent`.
        const sent = await Promise.all([...found.values()].map((key) => this.#client.hget(key, 'sent')));
        let i = 0;
        for (const name of found.keys()) if (Number(sent[i++] ?? 0) > 0) names.push(name);
      } catch (error) {
        throw this.#failure('queues', error, true);
      }
      return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    });
  }

  /** The queue whose counters hash `key` is, or undefined when it is no such key (or names no queue a handle can open). */
  #queueOfCountersKey(key: string): string | undefined {
    if (!key.endsWith(':s')) return undefined;
    let name: string;
    if (this.#keyTag === 'queue') {
      const start = `{${this.prefix}:`;
      if (!key.startsWith(start) || !key.endsWith('}:s')) return undefined;
      name = key.slice(start.length, -3);
    } else {
      const close = key.indexOf('}:');
      if (close < 0) return undefined;
      name = key.slice(close + 2, -2);
    }
    if (!isName(name)) return undefined;
    try {
      // A key of another layout (a group list named `s`) may look like one: its queue's own key must be it.
      return `${this.#keysOf(name).base}:s` === key ? name : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Applies what fell due by `now` in every queue this storage has used whose due
   * time has come. While the connection is down it does nothing and reports nothing
   * due, so the scheduler's timer does not spin; the reconnect catches up.
   */
  tick(now: number): Promise<void> {
    return this.#track(async () => {
      this.#checkOpen();
      if (this.#opened && this.#client.status !== 'ready') {
        this.#stale = true;
        this.#emitDue();
        return;
      }
      const due: string[] = [];
      for (const [queue, state] of this.#queues) if (state.due !== undefined && state.due <= now) due.push(queue);
      // One script per queue, sent together: queues live in different Cluster slots.
      try {
        await Promise.all(due.map((queue) => this.#run('tick', [queue], now, [])));
      } catch (error) {
        // The scheduler would fire again at once for a due time still past: try again in a second instead.
        for (const queue of due) {
          const state = this.#queues.get(queue);
          if (state && state.due !== undefined && state.due <= now) state.due = now + TICK_RETRY_MS;
        }
        this.#emitDue();
        throw error;
      }
    });
  }

  // ------------------------------------------------------------------ internals

  /** Lets a TestClock wait for Redis round trips the way it waits for handlers. */
  #track<T>(operation: () => Promise<T>): Promise<T> {
    const work = operation();
    this.clock.track?.(work);
    return work;
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError('Storage is closed');
  }

  /** Opens on first use; afterwards refuses at once while the connection is down rather than queueing. */
  async #ready(operation: string): Promise<void> {
    this.#checkOpen();
    if (!this.#opened) await this.open();
    this.#checkOpen();
    const status = this.#client.status;
    if (status !== 'ready') {
      throw new PocketMQError('ERR_REDIS', `RedisStorage ${operation}: the Redis connection is not ready (status "${status}"), so the operation was not sent${this.#lastErrorText()}`);
    }
  }

  /** A queue's hash tag (inside the braces) and the start of all its keys. */
  #keysOf(queue: string): { tag: string; base: string } {
    let keys = this.#keys.get(queue);
    if (!keys) {
      const tag = tagOf(this.#keyTag, this.prefix, queue);
      keys = { tag, base: keyBase(this.#keyTag, tag, queue) };
      this.#keys.set(queue, keys);
    }
    return keys;
  }

  /** On a Cluster, refuses an operation whose queues are in different slots, before anything is sent. */
  #checkOneSlot(name: string, queues: readonly string[]): void {
    if (!this.#isCluster || queues.length < 2) return;
    const tags = queues.map((queue) => this.#keysOf(queue).tag);
    if (tags.some((tag) => tag !== tags[0])) throw crossSlotError(name, queues, tags, this.#keyTag);
  }

  /** Runs an operation of the script on `queues` (the first is the one it is about). */
  async #run(operation: Operation, queues: readonly string[], now: number, args: readonly (string | number)[]): Promise<unknown> {
    const name = operation === 'ackClaim' ? 'ack and claim' : operation;
    // Sends and acks held for the end of the turn go first, so that operations reach
    // Redis in the order they were called (between themselves, the held ones keep theirs).
    if (operation !== 'ack' && operation !== 'enqueue') {
      if (this.#flushQueued) this.#flushEnqueues();
      this.#sendHeldAcks();
    }
    this.#checkOneSlot(name, queues);
    await this.#ready(name);
    const keys = queues.map((q) => this.#keysOf(q).base);
    let reply: [unknown, Reply, Reply];
    try {
      reply = await this.#sendScript([keys.length, ...keys, this.#channel, this.#self, String(now), ...queues, operation, ...args]);
    } catch (error) {
      throw this.#failure(name, error, true);
    }
    this.#absorb(reply[1], reply[2]);
    return reply[0];
  }

  /** Sends one run of the script, its write held to the end of the tick (see #corkThisTick). */
  #sendScript(args: (string | number)[]): Promise<[unknown, Reply, Reply]> {
    this.#corkThisTick();
    return (this.#client as unknown as ScriptCommand)[COMMAND](...args);
  }

  /**
   * Holds this tick's writes to the socket and lets them go together on the next
   * `process.nextTick`: the scripts of one turn (a consumer's acks and its next claim,
   * sends to several queues) leave in one write and reach Redis in one read. A write
   * to a local socket costs about as much as a small script.
   * Not `client.pipeline()`: 6-9 % slower on REDIS-in-flight and -sequential (docs/benchmarks.md, Redis corking).
   */
  #corkThisTick(): void {
    if (this.#corked) return;
    const stream = (this.#client as { stream?: { cork?: () => void; uncork?: () => void } }).stream;
    if (typeof stream?.cork !== 'function' || typeof stream.uncork !== 'function') return;
    stream.cork();
    this.#corked = true;
    process.nextTick(() => {
      this.#corked = false;
      stream.uncork!();
    });
  }

  #failure(operation: string, error: unknown, sent: boolean): PocketMQError {
    if (error instanceof PocketMQError) return error;
    const message = error instanceof Error ? error.message : String(error);
    const lost = sent && this.#client.status !== 'ready';
    const detail = lost ? ' (the connection dropped before Redis answered: the operation may or may not have been applied)' : '';
    return new PocketMQError('ERR_REDIS', `RedisStorage ${operation} failed: ${message}${detail}`, { cause: error });
  }

  #lastErrorText(): string {
    return this.#lastError ? ` (last error: ${this.#lastError.message})` : '';
  }

  /** Takes in what a script reported: expiries, per-queue versions, due times and readiness. */
  #absorb(queues: Reply, expired: Reply): void {
    const watchers = this.#watchers;
    if (expired.length > 0) {
      const byQueue = new Map<string, StoredMessage[]>();
      for (let i = 0; i < expired.length; i += 1 + RECORD_FIELDS) {
        const queue = expired[i] as string;
        let list = byQueue.get(queue);
        if (!list) byQueue.set(queue, (list = []));
        list.push(decodeRecord(expired, i + 1, this.#lines).message);
      }
      for (const [queue, messages] of byQueue) this.#send(watchers, { type: 'expired', queue, messages });
    }
    for (let i = 0; i < queues.length; i += 4) {
      const queue = queues[i] as string;
      const due = queues[i + 2];
      this.#learn(queue, Number(queues[i + 1]), due === null ? undefined : Number(due), true);
      if (queues[i + 3] === '1') this.#send(watchers, readySignal(queue));
    }
    this.#emitDue();
  }

  /** Records a queue's due time as of `version`, unless a later version was heard already. */
  #learn(queue: string, version: number, due: number | undefined, own: boolean): void {
    const state = this.#queues.get(queue);
    if (!state) {
      // Announcements about queues this process never used are not its business.
      if (own) this.#queues.set(queue, { version, due });
      return;
    }
    if (version <= state.version) return;
    state.version = version;
    state.due = due;
  }

  /** An announcement from another process: `self|queue|version|ready|due`. */
  #onAnnouncement(message: string): void {
    const [from, queue, version, ready, due] = message.split('|');
    if (from === this.#self || queue === undefined || this.#closed) return;
    if (due !== undefined && due !== '') {
      this.#learn(queue, Number(version), Number(due), false);
      this.#emitDue();
    }
    if (ready === '1') this.#send(this.#watchers, readySignal(queue));
  }

  /** After a reconnect: re-read every known queue's due time and wake its waiters. */
  async #resync(): Promise<void> {
    if (this.#client.status !== 'ready') return;
    const queues = [...this.#queues.keys()];
    try {
      await Promise.all(queues.map((queue) => this.#run('tick', [queue], this.clock.now(), [])));
      this.#stale = false;
    } catch {
      // The connection went again; the next 'ready' retries.
      return;
    }
    this.#emitDue();
    for (const queue of queues) this.#send(this.#watchers, readySignal(queue));
    this.#refreshSchedules();
  }

  #emitDue(): void {
    let due: number | undefined;
    if (!this.#stale) {
      for (const state of this.#queues.values()) {
        if (state.due !== undefined && (due === undefined || state.due < due)) due = state.due;
      }
    }
    if (due === this.#lastDue) return;
    this.#lastDue = due;
    this.#send(this.#watchers, { type: 'due', at: due });
  }

  #send(watchers: readonly ((signal: StorageSignal) => void)[], signal: StorageSignal): void {
    for (const watcher of watchers) watcher(signal);
  }
}
