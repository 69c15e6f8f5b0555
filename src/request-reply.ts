import { Emitter } from './event-emitter.js';
import type { TimerHandle } from './clock.js';
import type { Consumer } from './consumer.js';
import { checkBody } from './body.js';
import { disposeWith } from './dispose.js';
import { ClosedError, RemoteError, TimeoutError } from './errors.js';
import { reportError, toError } from './events.js';
import { newId, randomId } from './ids.js';
import { instrumentation } from './instrumentation.js';
import { DurationHistogram, type DurationSummary } from './metrics/duration-histogram.js';
import type { QueueMetrics } from './metrics/queue-metrics.js';
import type { Message } from './message.js';
import type { HandlerContext } from './handler-context.js';
import { type ConsumeOptions, DEFAULTS, QUEUE_OPTION_KEYS, type QueueOptions } from './options.js';
import { Queue } from './queue.js';
import { asValidationError, checkSchema, validateWith } from './schema.js';
import type { StandardSchemaV1 } from './standard-schema.js';
import { schedulerOf } from './scheduler.js';
import type { EnqueuePolicy, Storage } from './storage/storage.js';
import { checkFunction, checkHeaders, checkInteger, checkKeys, checkMs, checkName, checkObject, checkSignal, expected, MAX_NAME_LENGTH } from './validate.js';

/**
 * Options of a {@link RequestReply}: the request queue's options (its `schema` checks
 * requests), the default request timeout, and the schema of replies. `Req`/`Res` are
 * what the handler and the requester get, `ReqIn`/`ResIn` what `request()` takes and
 * the handler returns (they differ only for schemas that transform).
 */
export interface RequestReplyOptions<Req = any, Res = any, ReqIn = Req, ResIn = Res> extends QueueOptions<Req, ReqIn> {
  /** How long `request()` waits for a reply, in ms (`Infinity`: as long as it takes). @defaultValue `30000` */
  timeout?: number;
  /**
   * Any Standard Schema v1 for replies. The serving side checks each handler result
   * with it (one that fails counts as a failed attempt: retried, and after the last the
   * requester gets a `RemoteError` named `'ValidationError'`); the requester checks each
   * reply again and resolves with the schema's output, or rejects with `ValidationError`
   * when a reply (sent by a server without the schema) fails.
   * @defaultValue none
   */
  replySchema?: StandardSchemaV1<ResIn, Res>;
}

/** Options of one `request()`. */
export interface RequestOptions {
  /** How long to wait for the reply, in ms (>= 1, or `Infinity`). @defaultValue the instance's `timeout` */
  timeout?: number;
  /** Aborting it rejects the request at once with the signal's reason. */
  signal?: AbortSignal;
  /** String metadata for the serving handler (names starting with `pocketmq-` are reserved). */
  headers?: Record<string, string>;
  /** Integer; higher is served first. @defaultValue `0` */
  priority?: number;
}

/** Options of `serve()`: those of `queue.consume()`. */
export type ServeOptions = ConsumeOptions;

/**
 * Serves one request: its return value (or what its promise resolves to) is the reply.
 * The request's lease is renewed while it runs; `context.signal` aborts if the lease is
 * lost or the server is stopped with `{ abandon: true }` (see {@link HandlerContext}).
 */
export type RequestHandler<Req, Res> = (body: Req, message: Message<Req>, context: HandlerContext) => Res | Promise<Res>;

/** Counters of a {@link RequestReply} instance, for monitoring. */
export interface RequestReplyStats {
  /** Requests of this instance waiting for their reply. */
  readonly pending: number;
  /**
   * Replies that came after their request had timed out, been aborted or closed
   * (or expired in the reply queue for that reason): dropped, and counted here.
   */
  readonly lateReplies: number;
}

/**
 * What `requestReply.metrics()` reports: the request queue handle's {@link QueueMetrics}
 * (requests sent by this instance, and served by its `serve()` handlers), plus the
 * requester's side: outcomes since the instance was made and latency over the last 60 s.
 */
export interface RequestReplyMetrics extends QueueMetrics {
  /** Requests of this instance that got their reply (a value or a `RemoteError`). */
  readonly replied: number;
  /** Requests of this instance that rejected with `TimeoutError`. */
  readonly timedOut: number;
  /** From `request()` to its reply, in ms, over the last 60 s (in 5 s steps). */
  readonly latency: DurationSummary;
}

/** Events of a {@link RequestReply}. */
export interface RequestReplyEvents {
  /** A background operation failed (a storage error while sending a reply or consuming replies). */
  error: (error: Error) => void;
}

/** Headers that carry the reply address; visible to handlers in `message.headers`. */
const REPLY_TO = 'pocketmq-reply-to';
/** Absolute time (storage clock, ms) after which the requester no longer waits; replies expire then. */
const DEADLINE = 'pocketmq-deadline';
/** Reply handling is a map lookup, so many can run at once. */
const REPLY_CONCURRENCY = 256;
/** `${name}.reply.` plus a 21-character random id must still be a valid queue name. */
const MAX_REQUEST_NAME_LENGTH = MAX_NAME_LENGTH - '.reply.'.length - 21;

const REPLY_POLICY: EnqueuePolicy = { maxLength: undefined, overflow: 'reject', deadLetter: false, dedupeWindow: 0 };

/** What travels back on the reply queue. */
type Reply<Res> = { readonly ok: true; readonly value: Res } | { readonly ok: false; readonly name: string; readonly message: string };

interface Pending {
  /** When `request()` was called, on the storage's clock. */
  readonly startedAt: number;
  readonly resolve: (value: never) => void;
  readonly reject: (error: unknown) => void;
  readonly timer: TimerHandle | undefined;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: (() => void) | undefined;
}

/**
 * Request/reply over queues. Requests go through a real queue named `name` (so
 * its retries, backoff and dead-letter queue apply on the serving side); each
 * instance receives its replies on a reply queue of its own and matches them to
 * requests by correlation id.
 *
 * A handler that throws is retried like any queue message; when its last
 * attempt fails, the requester's promise rejects with a `RemoteError` carrying
 * the error's message and name. No reply within `timeout` rejects with
 * `TimeoutError`, and the request expires from the request queue then too.
 *
 * ```ts
 * const pricing = new RequestReply<PriceRequest, Price>('pricing', { storage });
 * pricing.serve(async (req) => quote(req), { concurrency: 4 });
 * const price = await pricing.request({ sku: 'A-1' }, { timeout: 5_000 });
 * ```
 */
export class RequestReply<Req = unknown, Res = unknown, ReqIn = Req, ResIn = Res> extends Emitter<RequestReplyEvents> {
  /** The request queue's name. */
  readonly name: string;
  /** The storage requests and replies live in. */
  readonly storage: Storage;
  readonly #requests: Queue<Req, ReqIn>;
  readonly #timeout: number;
  readonly #replySchema: StandardSchemaV1 | undefined;
  readonly #replyQueue: string;
  #replyConsumer: Consumer<Reply<ResIn>> | undefined = undefined;
  #replies: Queue<Reply<ResIn>> | undefined = undefined;
  readonly #pending = new Map<string, Pending>();
  /** Pending requests without a timer: the scheduler is held for them so the process waits for their replies. */
  #untimed = 0;
  #releaseHold: (() => void) | undefined = undefined;
  #lateReplies = 0;
  #replied = 0;
  #timedOut = 0;
  /** Made by the first reply: an instance that only serves never pays for it. */
  #latency: DurationHistogram | undefined = undefined;
  #closed = false;

  /** With `options.schema` and `options.replySchema`, the body types are inferred from them. */
  constructor(name: string, options?: RequestReplyOptions<Req, Res, ReqIn, ResIn>) {
    super();
    checkName('name', name);
    if (name.length > MAX_REQUEST_NAME_LENGTH) throw expected('name', `a name of at most ${MAX_REQUEST_NAME_LENGTH} characters (its reply queues add a suffix)`, name, RangeError);
    const o = options === undefined ? {} : checkObject('options', options);
    checkKeys('options', o, [...QUEUE_OPTION_KEYS, 'timeout', 'replySchema']);
    const { timeout, replySchema, ...queueOptions } = o;
    this.#timeout = timeout === undefined ? DEFAULTS.requestTimeout : checkMs('options.timeout', timeout, 1, true);
    this.#replySchema = checkSchema('options.replySchema', replySchema);
    this.#requests = new Queue<Req, ReqIn>(name, queueOptions as QueueOptions);
    this.#requests.on('error', (error) => this.#error(error));
    this.name = name;
    this.storage = this.#requests.storage;
    this.#replyQueue = `${name}.reply.${randomId()}`;
  }

  /** The request queue's handle: `stats()`, `peek()`, and events such as `'dead'` for requests that failed for good. */
  get queue(): Queue<Req, ReqIn> {
    return this.#requests;
  }

  /** The queue this instance's replies arrive on (unique to the instance). */
  get replyQueue(): string {
    return this.#replyQueue;
  }

  /**
   * The request queue's {@link Queue.metrics} for this instance, with the requester's
   * outcomes and latency. From memory; no storage call.
   */
  metrics(): RequestReplyMetrics {
    const now = this.storage.clock.now();
    return { ...this.#requests.metrics(), replied: this.#replied, timedOut: this.#timedOut, latency: DurationHistogram.summary(this.#latency ? [this.#latency] : [], now) };
  }

  /** Requests waiting for their reply, and replies that came too late. */
  stats(): RequestReplyStats {
    return { pending: this.#pending.size, lateReplies: this.#lateReplies };
  }

  /**
   * Serves requests: calls `handler` with each request's body, at most
   * `concurrency` at a time, and sends its result back to the requester. A
   * handler that throws is retried per the queue's `maxAttempts` and `backoff`;
   * after the last attempt the requester gets a `RemoteError` and the request
   * goes to the dead-letter queue. Returns the consumer (`stop()`, `pause()`, `resume()`).
   */
  serve(handler: RequestHandler<Req, ResIn>, options?: ServeOptions): Consumer<Req> {
    this.#checkOpen();
    checkFunction('handler', handler);
    const { maxAttempts } = this.#requests.options;
    return this.#requests.consume(async (message, context) => {
      const replyTo = message.headers[REPLY_TO];
      let value: ResIn;
      try {
        value = await handler(message.body, message, context);
        // A result JSON would change, or the reply schema refuses, fails like a throw, so the requester hears of it instead of waiting.
        if (this.#replySchema) await validateWith(this.#replySchema, value, { argument: 'result' });
        if (this.storage.capabilities.checksBodies) checkBody(value, 'result');
      } catch (error) {
        if (message.attempt >= maxAttempts && replyTo !== undefined) {
          const err = toError(error);
          await this.#reply(replyTo, message, { ok: false, name: err.name, message: err.message });
        }
        throw error;
      }
      if (replyTo !== undefined) await this.#reply(replyTo, message, { ok: true, value });
    }, options);
  }

  async #reply(replyTo: string, request: Message<Req>, reply: Reply<ResIn>): Promise<void> {
    checkName(`headers["${REPLY_TO}"]`, replyTo);
    const now = this.storage.clock.now();
    const deadline = Number(request.headers[DEADLINE]);
    const items = [
        {
          id: newId(),
          body: reply,
          headers: undefined,
          priority: 0,
          enqueuedAt: now,
          availableAt: now,
          // Past the deadline nobody waits for it: let it expire rather than pile up.
          expiresAt: Number.isFinite(deadline) ? Math.max(deadline, now + 1) : undefined,
          dedupeId: undefined,
          group: undefined,
          correlationId: request.correlationId,
          subject: undefined,
        },
      ];
    const tracker = instrumentation.hook?.send(replyTo, items, 'send');
    try {
      await this.storage.enqueue(replyTo, items, REPLY_POLICY, now);
    } catch (error) {
      tracker?.end(error);
      throw error;
    }
    tracker?.end(undefined);
  }

  /**
   * Sends a request and resolves with the handler's result. Rejects with
   * `RemoteError` when the handler failed for good, `TimeoutError` after
   * `timeout` ms without a reply, the signal's reason at once when `signal`
   * aborts, and `ClosedError` when the instance is closed meanwhile.
   */
  async request(body: ReqIn, options?: RequestOptions): Promise<Res> {
    this.#checkOpen();
    let timeout = this.#timeout;
    let signal: AbortSignal | undefined;
    let headers: Record<string, string> | undefined;
    let priority = 0;
    if (options !== undefined) {
      const o = checkObject('options', options);
      checkKeys('options', o, ['timeout', 'signal', 'headers', 'priority']);
      if (o.timeout !== undefined) timeout = checkMs('options.timeout', o.timeout, 1, true);
      signal = checkSignal('options.signal', o.signal);
      headers = checkHeaders('options.headers', o.headers);
      if (o.priority !== undefined) priority = checkInteger('options.priority', o.priority, -Number.MAX_SAFE_INTEGER);
    }
    signal?.throwIfAborted();
    this.#startReplies();

    const correlationId = newId();
    const clock = this.storage.clock;
    const timed = Number.isFinite(timeout);
    const requestHeaders: Record<string, string> = { ...headers, [REPLY_TO]: this.#replyQueue };
    if (timed) requestHeaders[DEADLINE] = String(clock.now() + timeout);

    const reply = new Promise<Res>((resolve, reject) => {
      const timer = timed
        ? clock.setTimer(() => this.#timedOutAfter(correlationId, timeout), timeout, true)
        : undefined;
      const onAbort = signal ? () => this.#finish(correlationId)?.reject(signal.reason) : undefined;
      if (signal) signal.addEventListener('abort', onAbort!, { once: true });
      this.#pending.set(correlationId, { startedAt: clock.now(), resolve: resolve as (value: never) => void, reject, timer, signal, onAbort });
      if (!timed && ++this.#untimed === 1) this.#releaseHold = schedulerOf(this.storage).hold();
    });

    try {
      await this.#requests.send(body, { correlationId, headers: requestHeaders, priority, ttl: timed ? timeout : undefined });
    } catch (error) {
      this.#finish(correlationId)?.reject(error);
    }
    return reply;
  }

  #timedOutAfter(correlationId: string, timeout: number): void {
    const pending = this.#finish(correlationId);
    if (!pending) return;
    this.#timedOut++;
    pending.reject(new TimeoutError(`Request to "${this.name}" got no reply within ${timeout} ms`, timeout));
  }

  /** Removes a pending request and everything it holds; undefined if it already finished. */
  #finish(correlationId: string): Pending | undefined {
    const pending = this.#pending.get(correlationId);
    if (!pending) return undefined;
    this.#pending.delete(correlationId);
    if (pending.timer !== undefined) this.storage.clock.clearTimer(pending.timer);
    else if (--this.#untimed === 0) {
      this.#releaseHold?.();
      this.#releaseHold = undefined;
    }
    if (pending.onAbort) pending.signal!.removeEventListener('abort', pending.onAbort);
    return pending;
  }

  #startReplies(): void {
    if (this.#replyConsumer) return;
    const replies = new Queue<Reply<ResIn>>(this.#replyQueue, { storage: this.storage, deadLetter: false, maxAttempts: 1 });
    replies.on('expired', () => this.#lateReplies++);
    replies.on('error', (error) => this.#error(error));
    this.#replies = replies;
    this.#replyConsumer = replies.consume((message) => this.#onReply(message), { concurrency: REPLY_CONCURRENCY });
  }

  #onReply(message: Message<Reply<ResIn>>): void | Promise<void> {
    const pending = message.correlationId === undefined ? undefined : this.#finish(message.correlationId);
    if (!pending) {
      this.#lateReplies++;
      return;
    }
    const now = this.storage.clock.now();
    this.#replied++;
    (this.#latency ??= new DurationHistogram()).at(now).add(now - pending.startedAt);
    const reply = message.body;
    if (typeof reply !== 'object' || reply === null) pending.reject(new RemoteError('Malformed reply', 'Error'));
    else if (!reply.ok) pending.reject(new RemoteError(reply.message, reply.name));
    else if (this.#replySchema) return this.#checkReply(reply.value, message.id, pending);
    else pending.resolve(reply.value as never);
  }

  /** Resolves the request with the reply schema's output, or rejects it with the `ValidationError`. */
  async #checkReply(value: ResIn, messageId: string, pending: Pending): Promise<void> {
    try {
      pending.resolve((await validateWith(this.#replySchema!, value, { queue: this.#replyQueue, messageId })) as never);
    } catch (error) {
      pending.reject(asValidationError(error, { queue: this.#replyQueue, messageId }));
    }
  }

  /**
   * Rejects pending requests with `ClosedError`, stops serving gracefully (running
   * handlers finish), and drops replies still waiting (counted as late). Then the
   * reply queue is forgotten by the storage (no memory, snapshot record or Redis
   * keys left for it) and this instance holds no registration on the storage. Later
   * calls reject with `ClosedError`. The storage stays open.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const correlationId of [...this.#pending.keys()]) {
      this.#finish(correlationId)?.reject(new ClosedError(`RequestReply "${this.name}" was closed before the reply came`));
    }
    await Promise.all([this.#requests.close(), this.#replies?.close()]);
    if (this.#replies) {
      const { storage } = this;
      try {
        this.#lateReplies += await storage.purge(this.#replyQueue, storage.clock.now());
        // The reply queue is this instance's alone: forgetting it leaves nothing behind per closed instance.
        await storage.forget?.(this.#replyQueue, storage.clock.now());
      } catch (error) {
        if (!(error instanceof ClosedError)) this.#error(error);
      }
    }
  }

  /** Closes the handle, as {@link RequestReply.close}: `await using rpc = new RequestReply(...)` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return disposeWith(() => this.close());
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError(`RequestReply "${this.name}" is closed`);
  }

  #error(error: unknown): void {
    reportError(this, error, `request-reply "${this.name}"`);
  }
}
