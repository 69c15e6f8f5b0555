import { checkBody } from './body.js';
import { newId } from './ids.js';
import { checkSchema } from './schema.js';
import type { StandardSchemaV1 } from './standard-schema.js';
import type { MessageState, NewMessage, Storage } from './storage/storage.js';
import {
  checkFunction,
  checkHeaders,
  checkInteger,
  checkKeys,
  checkMs,
  checkName,
  checkFiniteNumber,
  checkObject,
  checkOneOf,
  checkSignal,
  checkString,
  expected,
} from './validate.js';

/** How long to wait before retrying after attempt `attempt` failed with `error`, in ms. */
export type BackoffFunction = (attempt: number, error: unknown) => number;

/** Retry delays: `min(max, initial * factor^(attempt-1))`, then jitter. */
export interface BackoffOptions {
  /** Only `'exponential'` (use `factor: 1` for a fixed delay). @defaultValue `'exponential'` */
  type?: 'exponential';
  /** Delay after the first failed attempt, in ms. @defaultValue `1000` */
  initial?: number;
  /** Growth per attempt: a finite number >= 1 (a delay that overflows is capped at `max`). @defaultValue `2` */
  factor?: number;
  /** Upper bound of the delay before jitter, in ms. @defaultValue `300000` */
  max?: number;
  /**
   * `'full'`: uniform in [0, d]; `'equal'`: d/2 + uniform in [0, d/2]; `'none'`: d.
   * @defaultValue `'full'`
   */
  jitter?: 'full' | 'equal' | 'none';
}

/**
 * Options of a {@link Queue}. Every field is optional; defaults are in {@link DEFAULTS}.
 * `T` is the body a handler gets, `In` the body `send()` takes (they differ only for a
 * `schema` that transforms). Written bare, `QueueOptions` fits a queue of any body type,
 * as it did before schemas, hence the `any` default.
 */
export interface QueueOptions<T = any, In = T> {
  /** Where messages live. @defaultValue a process-wide `MemoryStorage` */
  storage?: Storage;
  /** How long a delivery is leased before it is delivered again, in ms. @defaultValue `30000` */
  visibilityTimeout?: number;
  /** Deliveries before a failing message is dead-lettered (>= 1). @defaultValue `3` */
  maxAttempts?: number;
  /**
   * Delay before each retry: options, or a function of the attempt and error. A function
   * must return a finite number of ms >= 0; any other answer (NaN, Infinity, a negative
   * number, a throw) retries at once and is reported through the `'error'` event, so no
   * delay that could never fall due reaches the storage.
   * @defaultValue exponential 1 s × 2, max 5 min, full jitter
   */
  backoff?: BackoffOptions | BackoffFunction;
  /** Queue that receives dead letters, or `false` to drop them (the `'dead'` event still fires). @defaultValue `` `${name}.dlq` `` */
  deadLetter?: string | false;
  /** Most waiting (ready + delayed) messages. @defaultValue unbounded */
  maxLength?: number;
  /**
   * When `maxLength` is reached: `'reject'` makes `send()` reject with `QueueFullError`;
   * `'drop-oldest'` dead-letters the oldest ready message of the lowest priority (reason `'overflow'`).
   * @defaultValue `'reject'`
   */
  overflow?: 'reject' | 'drop-oldest';
  /** How long a `dedupeId` is remembered, in ms. @defaultValue `300000` (5 minutes, as SQS) */
  dedupeWindow?: number;
  /**
   * Any Standard Schema v1 (zod, valibot, arktype...); the body types are inferred from it.
   * `send()` validates each body and rejects an invalid one with `ValidationError`
   * (`ERR_INVALID_MESSAGE`), storing nothing; the body is stored as sent (so it must be
   * JSON). Each claimed message is validated again and its handler gets the schema's
   * output (after transforms); one that fails, whoever wrote it, is dead-lettered with
   * reason `'invalid'` and an `'error'` event, and never reaches a handler.
   * Asynchronous schemas are supported.
   * @defaultValue none: bodies are not checked against a shape
   */
  schema?: StandardSchemaV1<In, T>;
}

/** Options of one `send()`. */
export interface SendOptions {
  /** Deliver no earlier than this many ms from now. @defaultValue `0` */
  delay?: number;
  /** Integer; higher is delivered first, FIFO within a priority. @defaultValue `0` */
  priority?: number;
  /** Expire (with an `'expired'` event) if not delivered within this many ms. @defaultValue none */
  ttl?: number;
  /** Sends with the same id within the queue's `dedupeWindow` are stored once; `send()` returns the first id. */
  dedupeId?: string;
  /** FIFO group: messages of a group are delivered in order, at most one in flight at a time. */
  group?: string;
  /** Correlates replies and related messages. */
  correlationId?: string;
  /** Dot-separated subject (used by topics for filtering). */
  subject?: string;
  /** String key/value metadata. */
  headers?: Record<string, string>;
}

/** Limits how many handlers start per interval. */
export interface RateLimit {
  /** Most handler starts per `interval`. */
  max: number;
  /** Window in ms. */
  interval: number;
}

/** Options of `queue.consume()`. */
export interface ConsumeOptions {
  /** Handlers running at once. @defaultValue `1` */
  concurrency?: number;
  /**
   * Most messages leased per storage call; the consumer holds at most
   * `max(prefetch, concurrency)` leased messages. Those beyond `concurrency` wait in
   * the consumer with their visibility timeout running, so keep it small for slow handlers.
   * @defaultValue `concurrency`
   */
  prefetch?: number;
  /** Start at most `max` handlers per `interval` ms. @defaultValue unlimited */
  rateLimit?: RateLimit;
  /** Aborting it stops the consumer gracefully, like `stop()`. */
  signal?: AbortSignal;
}

/** Options of `consumer.stop()` (and `subscription.stop()`). */
export interface StopOptions {
  /**
   * Don't wait for running handlers: abort their `signal`s and give their messages,
   * and those leased but not started, back to the queue at once for another consumer.
   * @defaultValue `false` (wait for running handlers to finish and settle)
   */
  abandon?: boolean;
}

/** Options of `queue.receive()`. */
export interface ReceiveOptions {
  /** Most messages to return (1–1000). @defaultValue `1` */
  max?: number;
  /** How long to wait for a first message, in ms; `0` answers at once. @defaultValue `0` */
  wait?: number;
  /** Aborting it rejects a waiting `receive()` with the signal's reason. */
  signal?: AbortSignal;
}

/** Options of {@link Queue.peek}. */
export interface PeekOptions {
  /** Most messages to return (1–10 000). @defaultValue `10` */
  max?: number;
  /**
   * Which messages: `'ready'` (deliverable, in delivery order, then those waiting behind
   * their FIFO group's head), `'delayed'` (waiting for a delay or retry backoff, earliest
   * first) or `'inflight'` (leased, earliest lease end first). @defaultValue `'ready'`
   */
  state?: MessageState;
}

/** Options of {@link Queue.redrive}. */
export interface RedriveOptions {
  /** Most messages to move (an integer >= 1). @defaultValue all the ready messages */
  max?: number;
  /** The queue to move every message to, instead of each one's `x-original-queue` header. */
  to?: string;
}

/** Every default in one place; the docs cite these. A queue's `deadLetter` defaults to `` `${name}.dlq` ``. */
export const DEFAULTS = {
  /** {@link QueueOptions.visibilityTimeout}, in ms. */
  visibilityTimeout: 30_000,
  /** {@link QueueOptions.maxAttempts}. */
  maxAttempts: 3,
  /** {@link QueueOptions.backoff}. */
  backoff: { type: 'exponential', initial: 1_000, factor: 2, max: 300_000, jitter: 'full' } as Required<BackoffOptions>,
  /** {@link QueueOptions.overflow}. */
  overflow: 'reject' as 'reject' | 'drop-oldest',
  /** {@link QueueOptions.dedupeWindow}, in ms. */
  dedupeWindow: 300_000,
  /** {@link ConsumeOptions.concurrency}. */
  concurrency: 1,
  /** {@link ReceiveOptions.max}. */
  receiveMax: 1,
  /** {@link ReceiveOptions.wait}, in ms. */
  receiveWait: 0,
  /** {@link StopOptions.abandon}: `consumer.stop()` waits for running handlers rather than abandon them. */
  abandon: false,
  /** RequestReply: how long `request()` waits for a reply, in ms. */
  requestTimeout: 30_000,
  /** {@link PeekOptions.max}. */
  peekMax: 10,
  /** {@link PeekOptions.state}. */
  peekState: 'ready' as MessageState,
  /** {@link RedriveOptions.max}: no bound. */
  redriveMax: Infinity,
} as const;

/** The most messages one `peek()` returns. */
const PEEK_LIMIT = 10_000;

/** Validates `peek()`'s argument: options, or the old form, a bare `max`. */
export function resolvePeekOptions(options: unknown): Required<PeekOptions> {
  if (options === undefined) return { max: DEFAULTS.peekMax, state: DEFAULTS.peekState };
  // Anything but an object is the bare `max` of `peek(max)`, and errors name it so.
  if (typeof options !== 'object' || options === null) return { max: checkInteger('max', options, 1, PEEK_LIMIT), state: DEFAULTS.peekState };
  const o = checkObject('options', options);
  checkKeys('options', o, ['max', 'state']);
  return {
    max: o.max === undefined ? DEFAULTS.peekMax : checkInteger('options.max', o.max, 1, PEEK_LIMIT),
    state: o.state === undefined ? DEFAULTS.peekState : checkOneOf('options.state', o.state, ['ready', 'delayed', 'inflight']),
  };
}

/** Validates `redrive()`'s options; `queue` is the queue redriven, which `to` may not name. */
export function resolveRedriveOptions(queue: string, options: unknown): { max: number; to: string | undefined } {
  const o = options === undefined ? {} : checkObject('options', options);
  checkKeys('options', o, ['max', 'to']);
  const to = o.to === undefined ? undefined : checkName('options.to', o.to);
  if (to === queue) throw expected('options.to', `a queue other than the queue redriven ("${queue}")`, to);
  return { max: o.max === undefined ? DEFAULTS.redriveMax : checkInteger('options.max', o.max, 1), to };
}

/** Appended to a queue's name to name its default dead-letter queue. */
const DEAD_LETTER_SUFFIX = '.dlq';

/** Queue options after validation and defaults. */
export interface ResolvedQueueOptions {
  readonly visibilityTimeout: number;
  readonly maxAttempts: number;
  readonly backoff: Required<BackoffOptions> | BackoffFunction;
  readonly deadLetter: string | false;
  readonly maxLength: number | undefined;
  readonly overflow: 'reject' | 'drop-oldest';
  readonly dedupeWindow: number;
  readonly schema: StandardSchemaV1 | undefined;
}

const QUEUE_KEYS = ['storage', 'visibilityTimeout', 'maxAttempts', 'backoff', 'deadLetter', 'maxLength', 'overflow', 'dedupeWindow', 'schema'] as const;

/** The Queue option keys, for option types that extend QueueOptions. */
export const QUEUE_OPTION_KEYS: readonly string[] = QUEUE_KEYS;

export function resolveBackoff(name: string, value: unknown): Required<BackoffOptions> | BackoffFunction {
  if (value === undefined) return DEFAULTS.backoff;
  if (typeof value === 'function') return value as BackoffFunction;
  const b = checkObject(name, value);
  checkKeys(name, b, ['type', 'initial', 'factor', 'max', 'jitter']);
  const d = DEFAULTS.backoff;
  return {
    type: b.type === undefined ? d.type : checkOneOf(`${name}.type`, b.type, ['exponential']),
    initial: b.initial === undefined ? d.initial : checkMs(`${name}.initial`, b.initial),
    factor: b.factor === undefined ? d.factor : checkFiniteNumber(`${name}.factor`, b.factor, 1),
    max: b.max === undefined ? d.max : checkMs(`${name}.max`, b.max),
    jitter: b.jitter === undefined ? d.jitter : checkOneOf(`${name}.jitter`, b.jitter, ['full', 'equal', 'none']),
  };
}

/** Validates queue options once; `prefix` names the argument in errors. */
export function resolveQueueOptions(name: string, options: unknown, prefix = 'options', extraKeys: readonly string[] = []): ResolvedQueueOptions {
  const o = options === undefined ? {} : checkObject(prefix, options);
  checkKeys(prefix, o, [...QUEUE_KEYS, ...extraKeys]);
  let deadLetter: string | false = `${name}${DEAD_LETTER_SUFFIX}`;
  if (o.deadLetter === false) deadLetter = false;
  else if (o.deadLetter !== undefined) deadLetter = checkName(`${prefix}.deadLetter`, o.deadLetter);
  if (deadLetter === name) throw expected(`${prefix}.deadLetter`, 'a queue other than the queue itself', deadLetter);
  return {
    visibilityTimeout: o.visibilityTimeout === undefined ? DEFAULTS.visibilityTimeout : checkMs(`${prefix}.visibilityTimeout`, o.visibilityTimeout, 1),
    maxAttempts: o.maxAttempts === undefined ? DEFAULTS.maxAttempts : checkInteger(`${prefix}.maxAttempts`, o.maxAttempts, 1),
    backoff: resolveBackoff(`${prefix}.backoff`, o.backoff),
    deadLetter,
    maxLength: o.maxLength === undefined ? undefined : checkInteger(`${prefix}.maxLength`, o.maxLength, 1),
    overflow: o.overflow === undefined ? DEFAULTS.overflow : checkOneOf(`${prefix}.overflow`, o.overflow, ['reject', 'drop-oldest']),
    dedupeWindow: o.dedupeWindow === undefined ? DEFAULTS.dedupeWindow : checkMs(`${prefix}.dedupeWindow`, o.dedupeWindow),
    schema: checkSchema(`${prefix}.schema`, o.schema),
  };
}

/** Send options after validation, as plain fields (undefined when unset). */
export interface ResolvedSendOptions {
  delay: number;
  priority: number;
  ttl: number | undefined;
  dedupeId: string | undefined;
  group: string | undefined;
  correlationId: string | undefined;
  subject: string | undefined;
  headers: Record<string, string> | undefined;
}

const SEND_KEYS = ['delay', 'priority', 'ttl', 'dedupeId', 'group', 'correlationId', 'subject', 'headers'] as const;

/** Shared by every send that passes no options: no allocation on the common path. */
const NO_SEND_OPTIONS: ResolvedSendOptions = Object.freeze({
  delay: 0,
  priority: 0,
  ttl: undefined,
  dedupeId: undefined,
  group: undefined,
  correlationId: undefined,
  subject: undefined,
  headers: undefined,
});

/**
 * The message a send or publish stores: a fresh id, and times made absolute from `now`.
 * With `checkBodyAs`, refuses (with `InvalidBodyError` naming it) a body that breaks the JSON rule of {@link checkBody}.
 */
export function newMessage(body: unknown, options: ResolvedSendOptions = NO_SEND_OPTIONS, now: number, checkBodyAs?: string): NewMessage {
  if (checkBodyAs !== undefined) checkBody(body, checkBodyAs);
  return {
    id: newId(),
    body,
    headers: options.headers,
    priority: options.priority,
    enqueuedAt: now,
    availableAt: now + options.delay,
    expiresAt: options.ttl === undefined ? undefined : now + options.ttl,
    dedupeId: options.dedupeId,
    group: options.group,
    correlationId: options.correlationId,
    subject: options.subject,
  };
}

export function resolveSendOptions(options: unknown, prefix = 'options'): ResolvedSendOptions {
  if (options === undefined) return NO_SEND_OPTIONS;
  const o = checkObject(prefix, options);
  checkKeys(prefix, o, SEND_KEYS);
  return {
    delay: o.delay === undefined ? 0 : checkMs(`${prefix}.delay`, o.delay),
    priority: o.priority === undefined ? 0 : checkInteger(`${prefix}.priority`, o.priority, -Number.MAX_SAFE_INTEGER),
    ttl: o.ttl === undefined ? undefined : checkMs(`${prefix}.ttl`, o.ttl, 1),
    dedupeId: o.dedupeId === undefined ? undefined : checkString(`${prefix}.dedupeId`, o.dedupeId),
    group: o.group === undefined ? undefined : checkString(`${prefix}.group`, o.group),
    correlationId: o.correlationId === undefined ? undefined : checkString(`${prefix}.correlationId`, o.correlationId),
    subject: o.subject === undefined ? undefined : checkString(`${prefix}.subject`, o.subject),
    headers: checkHeaders(`${prefix}.headers`, o.headers),
  };
}

export interface ResolvedConsumeOptions {
  concurrency: number;
  prefetch: number;
  rateLimit: RateLimit | undefined;
  signal: AbortSignal | undefined;
}

export function resolveConsumeOptions(options: unknown, prefix = 'options', extraKeys: readonly string[] = []): ResolvedConsumeOptions {
  const o = options === undefined ? {} : checkObject(prefix, options);
  checkKeys(prefix, o, ['concurrency', 'prefetch', 'rateLimit', 'signal', ...extraKeys]);
  const concurrency = o.concurrency === undefined ? DEFAULTS.concurrency : checkInteger(`${prefix}.concurrency`, o.concurrency, 1);
  let rateLimit: RateLimit | undefined;
  if (o.rateLimit !== undefined) {
    const r = checkObject(`${prefix}.rateLimit`, o.rateLimit);
    checkKeys(`${prefix}.rateLimit`, r, ['max', 'interval']);
    rateLimit = { max: checkInteger(`${prefix}.rateLimit.max`, r.max, 1), interval: checkMs(`${prefix}.rateLimit.interval`, r.interval, 1) };
  }
  return {
    concurrency,
    prefetch: o.prefetch === undefined ? concurrency : checkInteger(`${prefix}.prefetch`, o.prefetch, 1, 10_000),
    rateLimit,
    signal: checkSignal(`${prefix}.signal`, o.signal),
  };
}

export function resolveStopOptions(options: unknown): Required<StopOptions> {
  if (options === undefined) return { abandon: DEFAULTS.abandon };
  const o = checkObject('options', options);
  checkKeys('options', o, ['abandon']);
  if (o.abandon !== undefined && typeof o.abandon !== 'boolean') throw expected('options.abandon', 'a boolean', o.abandon);
  return { abandon: o.abandon ?? DEFAULTS.abandon };
}

export function resolveReceiveOptions(options: unknown): { max: number; wait: number; signal: AbortSignal | undefined } {
  if (options === undefined) return { max: DEFAULTS.receiveMax, wait: DEFAULTS.receiveWait, signal: undefined };
  const o = checkObject('options', options);
  checkKeys('options', o, ['max', 'wait', 'signal']);
  return {
    max: o.max === undefined ? DEFAULTS.receiveMax : checkInteger('options.max', o.max, 1, 1000),
    wait: o.wait === undefined ? DEFAULTS.receiveWait : checkMs('options.wait', o.wait, 0, true),
    signal: checkSignal('options.signal', o.signal),
  };
}

export { checkFunction, checkName };
