import { AlreadySettledError, PocketMQError } from './errors.js';
import type { MessageState, Receipt, StoredMessage } from './storage/storage.js';
import { checkKeys, checkMs, checkObject, checkString } from './validate.js';

/**
 * @internal What a {@link Message} settles through (its queue's QueueContext). An interface
 * here rather than an import, so message.ts and queue-context.ts do not import each other.
 */
export interface MessageSettler<T> {
  ack(message: Message<T>): Promise<boolean>;
  fail(message: Message<T>, error: unknown, delay?: number): Promise<boolean>;
  deadLetter(message: Message<T>, reason: string, errorMessage: string | undefined): Promise<boolean>;
  extend(message: Message<T>, ms: number): Promise<boolean>;
}

const EMPTY_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** What is known of a message outside a delivery (in `'sent'`, `'dead'`, `'expired'` events and `peek()`). */
export interface MessageInfo<T> {
  readonly id: string;
  /**
   * The payload. On a storage with a `codec` (pocketmq/crypto), a stored body the codecs
   * could not read is an `UnreadableBody` here (in `peek()` and the `'dead'` and
   * `'expired'` events); a handler never gets one.
   */
  readonly body: T;
  readonly headers: Readonly<Record<string, string>>;
  /** Deliveries so far: 0 before the first, 1 during it. */
  readonly attempt: number;
  /** When it was sent, in ms since the epoch (on the storage's clock). */
  readonly enqueuedAt: number;
  readonly priority: number;
  readonly correlationId: string | undefined;
  readonly group: string | undefined;
  readonly subject: string | undefined;
}

/** A message as `Queue.peek` lists it: where it is in its queue's life, and its times. */
export interface PeekedMessage<T> extends MessageInfo<T> {
  /** `'ready'`, `'delayed'` or `'inflight'`: the state it was listed for. */
  readonly state: MessageState;
  /** When it became (or becomes) deliverable, in ms since the epoch on the storage's clock. */
  readonly availableAt: number;
  /** When its lease runs out unless settled or extended: set for an in-flight message only. */
  readonly leaseUntil: number | undefined;
}

/** Options of {@link Message.nack}. */
export interface NackOptions {
  /** Deliver again after this many ms. @defaultValue the queue's backoff for this attempt */
  delay?: number;
}

/** A copy of the stored fields, taken synchronously (adapters may hand out live records). */
export function infoOf<T>(stored: StoredMessage): MessageInfo<T> {
  return {
    id: stored.id,
    body: stored.body as T,
    headers: stored.headers ?? EMPTY_HEADERS,
    attempt: stored.attempt,
    enqueuedAt: stored.enqueuedAt,
    priority: stored.priority,
    correlationId: stored.correlationId,
    group: stored.group,
    subject: stored.subject,
  };
}

/**
 * One delivery of a message. Settle it once with `ack()`, `nack()` or
 * `deadLetter()`; each resolves `true` if it took effect, or `false` if the lease
 * had already run out (the message is, or will be, delivered again).
 */
export class Message<T = unknown> implements MessageInfo<T> {
  readonly id: string;
  readonly body: T;
  readonly headers: Readonly<Record<string, string>>;
  readonly attempt: number;
  readonly enqueuedAt: number;
  readonly priority: number;
  readonly correlationId: string | undefined;
  readonly group: string | undefined;
  readonly subject: string | undefined;
  readonly #context: MessageSettler<T>;
  readonly #receipt: Receipt;
  #settled = false;

  /** @internal */
  constructor(context: MessageSettler<T>, stored: StoredMessage, receipt: Receipt) {
    this.id = stored.id;
    this.body = stored.body as T;
    this.headers = stored.headers ?? EMPTY_HEADERS;
    this.attempt = stored.attempt;
    this.enqueuedAt = stored.enqueuedAt;
    this.priority = stored.priority;
    this.correlationId = stored.correlationId;
    this.group = stored.group;
    this.subject = stored.subject;
    this.#context = context;
    this.#receipt = receipt;
  }

  /** True once `ack()`, `nack()` or `deadLetter()` was called. */
  get settled(): boolean {
    return this.#settled;
  }

  /** @internal The lease this delivery holds. */
  get receipt(): Receipt {
    return this.#receipt;
  }

  /** Removes the message: processing succeeded. */
  async ack(): Promise<boolean> {
    this.#settle('ack');
    return this.#context.ack(this);
  }

  /**
   * Processing failed: deliver again after `delay` (default: the queue's backoff),
   * or dead-letter it if this was the last allowed attempt.
   */
  async nack(options?: NackOptions): Promise<boolean> {
    let delay: number | undefined;
    if (options !== undefined) {
      const o = checkObject('options', options);
      checkKeys('options', o, ['delay']);
      if (o.delay !== undefined) delay = checkMs('options.delay', o.delay);
    }
    this.#settle('nack');
    return this.#context.fail(this, new PocketMQError('ERR_NACKED', 'nacked'), delay);
  }

  /** Moves the message to the dead-letter queue now, with `reason` in its headers. */
  async deadLetter(reason = 'rejected'): Promise<boolean> {
    checkString('reason', reason);
    this.#settle('deadLetter');
    return this.#context.deadLetter(this, reason, undefined);
  }

  /** Extends the lease to `ms` from now (the visibility timeout for this delivery). */
  async extend(ms: number): Promise<boolean> {
    checkMs('ms', ms, 1);
    if (this.#settled) throw new AlreadySettledError(this.id, 'extend');
    return this.#context.extend(this, ms);
  }

  /** @internal Whether this delivery came through the queue handle that settles through `settler`. */
  isFrom(settler: MessageSettler<unknown>): boolean {
    return this.#context === settler;
  }

  /** @internal Marks the delivery settled; returns false if it already was. */
  markSettled(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    return true;
  }

  #settle(how: string): void {
    if (!this.markSettled()) throw new AlreadySettledError(this.id, how);
  }
}
