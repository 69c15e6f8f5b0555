import { EventEmitter } from 'eventemitter3';

type Name<E extends EventEmitter.ValidEventTypes> = EventEmitter.EventNames<E>;
type Listener<E extends EventEmitter.ValidEventTypes, K extends Name<E>> = EventEmitter.EventListener<E, K>;

/**
 * eventemitter3's emitter, counting listener changes in `listenerChanges`. Queue and Topic
 * ask on every message whether an event has listeners; `listenerCount()` looks the name up
 * in a way V8 cannot specialise (one lookup for every name: ~120 instructions a call,
 * docs/benchmarks.md), so the hot paths keep its answers until the count moves.
 *
 * Queue, Topic and RequestReply extend this class rather than eventemitter3's: bundled,
 * eventemitter3 is CommonJS, its class is read as a property, and bundlers keep a class
 * that extends a property read even when nothing uses it. Only this one is kept.
 */
export class Emitter<E extends EventEmitter.ValidEventTypes = string | symbol> extends EventEmitter<E> {
  /** @internal Goes up whenever a listener is added or removed. */
  listenerChanges = 0;

  override on<K extends Name<E>>(event: K, fn: Listener<E, K>, context?: unknown): this {
    this.listenerChanges++;
    return super.on(event, fn, context);
  }

  override addListener<K extends Name<E>>(event: K, fn: Listener<E, K>, context?: unknown): this {
    this.listenerChanges++;
    return super.addListener(event, fn, context);
  }

  override once<K extends Name<E>>(event: K, fn: Listener<E, K>, context?: unknown): this {
    this.listenerChanges++;
    return super.once(event, fn, context);
  }

  // eventemitter3 removes a `once` listener through this method after calling it.
  override removeListener<K extends Name<E>>(event: K, fn?: Listener<E, K>, context?: unknown, once?: boolean): this {
    this.listenerChanges++;
    return super.removeListener(event, fn, context, once);
  }

  override off<K extends Name<E>>(event: K, fn?: Listener<E, K>, context?: unknown, once?: boolean): this {
    this.listenerChanges++;
    return super.off(event, fn, context, once);
  }

  override removeAllListeners(event?: Name<E>): this {
    this.listenerChanges++;
    return super.removeAllListeners(event);
  }
}
