import type { Consumer } from './consumer.js';
import { disposeWith } from './dispose.js';
import type { MessageInfo } from './message.js';
import type { Queue } from './queue.js';
import { resolveStopOptions, type StopOptions } from './options.js';

/** A live listener: called once per matching publish while attached; what it returns or throws never affects the publish. */
export type LiveListener<T> = (message: MessageInfo<T>) => unknown;

/** @internal What a live subscription registers with its topic. */
export interface LiveRecord<T> {
  readonly listener: LiveListener<T>;
  readonly filter: string | undefined;
  paused: boolean;
  /** Reports a listener that threw or rejected. */
  readonly report: (error: unknown) => void;
}

type Inner<T> =
  | { readonly kind: 'durable'; readonly queue: Queue<T>; readonly consumer: Consumer<T> }
  | { readonly kind: 'live'; readonly record: LiveRecord<T> };

/**
 * An attachment to a {@link Topic}, returned by `topic.subscribe()`.
 *
 * A durable subscription (`subscribe(name, handler)`) consumes the
 * subscription's own queue: stopping it detaches the handler, while the
 * subscription keeps receiving copies of new messages for the next time a
 * handler attaches. A live subscription (`subscribe(listener)`) hears
 * publishes only while attached and not paused; nothing is stored for it.
 */
export class Subscription<T = unknown> {
  /** The durable subscription's name; `undefined` for a live listener. */
  readonly name: string | undefined;
  /** The filter in force for this attachment; `undefined` matches every subject. */
  readonly filter: string | undefined;
  /**
   * Resolves once a durable subscription is recorded in the storage (at once for a
   * live one). Publishes from this process include the subscription from the
   * moment `subscribe()` returns; await `ready` before expecting publishes from
   * other processes sharing the storage to reach it. Rejects if it could not be
   * recorded (the topic also emits `'error'`, and the subscription is stopped).
   */
  readonly ready: Promise<void>;
  readonly #inner: Inner<T>;
  readonly #detach: (subscription: Subscription<T>) => void;
  #stopped: Promise<void> | undefined = undefined;

  /** @internal Made by `topic.subscribe()`. */
  constructor(name: string | undefined, filter: string | undefined, inner: Inner<T>, ready: Promise<void>, detach: (subscription: Subscription<T>) => void) {
    this.name = name;
    this.filter = filter;
    this.#inner = inner;
    this.ready = ready;
    this.#detach = detach;
  }

  /** True for a named subscription backed by a queue of its own. */
  get durable(): boolean {
    return this.#inner.kind === 'durable';
  }

  /**
   * The durable subscription's queue handle (for `stats()`, `peek()`, events such as
   * `'dead'` and `'retry'`); `undefined` for a live listener.
   */
  get queue(): Queue<T> | undefined {
    return this.#inner.kind === 'durable' ? this.#inner.queue : undefined;
  }

  get isPaused(): boolean {
    return this.#inner.kind === 'durable' ? this.#inner.consumer.isPaused : this.#inner.record.paused;
  }

  /**
   * Stops taking messages. A durable subscription's messages wait in its queue;
   * a live listener misses what is published while it is paused.
   */
  pause(): void {
    if (this.#inner.kind === 'durable') this.#inner.consumer.pause();
    else this.#inner.record.paused = true;
  }

  /** Takes messages again after {@link Subscription.pause}. */
  resume(): void {
    if (this.#stopped) return;
    if (this.#inner.kind === 'durable') this.#inner.consumer.resume();
    else this.#inner.record.paused = false;
  }

  /** Detaches gracefully, as {@link Subscription.stop}: `await using sub = topic.subscribe(...)` stops it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return disposeWith(() => this.stop());
  }

  /**
   * Detaches gracefully: resolves once running handlers have finished. A durable
   * subscription stays recorded and keeps collecting messages; delete it with
   * `topic.deleteSubscription(name)`. The {@link Subscription.queue} handle stays usable.
   * With `{ abandon: true }`, a durable subscription does not wait for its running
   * handlers (see `Consumer.stop()`); a live listener has none to wait for.
   */
  stop(options?: StopOptions): Promise<void> {
    try {
      resolveStopOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    const inner = this.#inner;
    if (!this.#stopped) this.#detach(this);
    const stopped = inner.kind === 'durable' ? inner.consumer.stop(options) : Promise.resolve();
    this.#stopped ??= stopped;
    return stopped;
  }
}
