import type { HandlerContext } from './handler-context.js';
import type { Message } from './message.js';
import type { NewMessage, Storage } from './storage/storage.js';

/** @internal How a send or publish tells its instrumentation that its storage call settled. */
export interface SendTracker {
  /** The storage call resolved (`error` undefined) or rejected. */
  end(error: unknown): void;
}

/** @internal What the core needs to know of an open queue handle to observe its depth. */
export interface ObservedQueue {
  readonly name: string;
  readonly storage: Storage;
}

/**
 * @internal What `pocketmq/otel` installs: the core calls it on each send, publish and
 * handler run while installed, and does one null check otherwise.
 */
export interface InstrumentationHook {
  /**
   * Before the storage call of a send (`operation` 'send') or publish ('publish') of
   * `items` to `destination`: may replace an item's headers (the trace context).
   */
  send(destination: string, items: NewMessage[], operation: 'send' | 'publish'): SendTracker;
  /** Runs `handler(message, context)` for queue `queue` and returns what it returns (or a promise that settles as it does). */
  process<T>(queue: string, message: Message<T>, handler: (message: Message<T>, context: HandlerContext) => unknown, context: HandlerContext): unknown;
}

/** @internal The registry the core consults and `pocketmq/otel` fills. */
export interface InstrumentationRegistry {
  /** The installed hook, or undefined (the usual case: nothing to do). */
  hook: InstrumentationHook | undefined;
  /** Open queue handles, weakly: a handle nobody closes still goes away with its last reference. */
  readonly queues: Set<WeakRef<ObservedQueue>>;
}

/**
 * Kept on `globalThis` under a registered symbol, like the default storage: the ESM and
 * CommonJS builds of pocketmq in one process share it, so `pocketmq/otel` loaded either
 * way instruments handles made by either build.
 */
const REGISTRY = Symbol.for('pocketmq.instrumentation');

function registryOnGlobal(): InstrumentationRegistry {
  const holder = globalThis as { [REGISTRY]?: InstrumentationRegistry };
  const existing = holder[REGISTRY];
  if (existing) return existing;
  const created: InstrumentationRegistry = { hook: undefined, queues: new Set() };
  Object.defineProperty(holder, REGISTRY, { value: created, configurable: true, writable: true, enumerable: false });
  return created;
}

/** @internal The process-wide registry. */
export const instrumentation: InstrumentationRegistry = registryOnGlobal();

let sweepAt = 64;

/** @internal Registers an open queue handle for the depth gauges; returns what unregisters it. */
export function observeQueue(queue: ObservedQueue): () => void {
  const ref = new WeakRef(queue);
  const { queues } = instrumentation;
  // Handles dropped without close() leave dead refs: sweep when the set doubles, amortized O(1).
  if (queues.size >= sweepAt) {
    for (const r of queues) if (r.deref() === undefined) queues.delete(r);
    sweepAt = Math.max(64, queues.size * 2);
  }
  queues.add(ref);
  return () => instrumentation.queues.delete(ref);
}
