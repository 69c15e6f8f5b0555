import { checkClock, type Clock } from '../clock.js';
import { EngineStorage } from '../storage/engine-storage.js';
import type { ClaimRequest, ClaimResult, EnqueuePolicy, EnqueueResult, NewMessage, Receipt, Settle, Storage } from '../storage/storage.js';
import { checkKeys, checkObject, expected } from '../validate.js';

/** Options of {@link MemoryStorage}. */
export interface MemoryStorageOptions {
  /** Time source for every queue on this storage; a `TestClock` in tests. @defaultValue the system clock */
  clock?: Clock;
  /**
   * Hold every body sent to this storage to the JSON rule of `Queue.send`, as FileStorage
   * and RedisStorage always do, so that a test refuses what they would refuse or change.
   * Off by default outside tests: memory keeps bodies as they are, and the check is a
   * walk of every body on every send.
   * @defaultValue `true` with a test clock (a `TestClock`), else `false`
   */
  validateBodies?: boolean;
}

// The methods a subclass may override to inject failures: read once, so the check on every
// synchronous operation is one comparison (docs/benchmarks.md).
const ENGINE_ENQUEUE = EngineStorage.prototype.enqueue;
const ENGINE_CLAIM = EngineStorage.prototype.claim;
const ENGINE_ACK = EngineStorage.prototype.ack;

/**
 * Keeps every queue in this process's memory: the fastest storage, and gone when
 * the process exits. Bodies are kept by reference, not copied: do not mutate a
 * body after sending it.
 */
export class MemoryStorage extends EngineStorage {
  constructor(options?: MemoryStorageOptions) {
    const o = options === undefined ? {} : checkObject('options', options);
    checkKeys('options', o, ['clock', 'validateBodies']);
    const clock = checkClock('options.clock', o.clock);
    if (o.validateBodies !== undefined && typeof o.validateBodies !== 'boolean') throw expected('options.validateBodies', 'a boolean', o.validateBodies);
    // A clock that tracks handlers is a test clock (real clocks leave `track` out).
    super(clock, (o.validateBodies as boolean | undefined) ?? clock?.track !== undefined, true);
  }

  /** Nothing to open; resolves at once (rejects after `close()`). */
  async open(): Promise<void> {
    this.checkOpen();
  }

  /** Drops every queue's contents; later operations reject with `ClosedError`. */
  async close(): Promise<void> {
    this.closed = true;
  }

  /** Enqueues at once, with nothing to wait for: see {@link Storage.enqueueNow}. */
  enqueueNow(queue: string, items: readonly NewMessage[], policy: EnqueuePolicy, now: number): EnqueueResult | undefined {
    if (this.closed || this.enqueue !== ENGINE_ENQUEUE) return undefined;
    const result = this.engine.enqueue(queue, items, policy, now);
    this.flushSignals();
    return result;
  }

  /** Acks at once, with nothing to wait for: see {@link Storage.ackNow}. */
  ackNow(queue: string, receipts: readonly Receipt[], now: number): Settle[] | undefined {
    // A subclass that overrides ack() (a test that makes acks fail) is asked through it.
    if (this.closed || this.ack !== ENGINE_ACK) return undefined;
    const settles = this.engine.ack(queue, receipts, now);
    this.flushSignals();
    return settles;
  }

  /** Claims at once, with nothing to wait for: see {@link Storage.claimNow}. */
  claimNow(queue: string, request: ClaimRequest, now: number): ClaimResult | undefined {
    if (this.closed || this.claim !== ENGINE_CLAIM) return undefined;
    const result = this.engine.claim(queue, request, now);
    this.flushSignals();
    return result;
  }

  /** @internal Memory is as durable as it gets at once. */
  protected persist(): undefined {
    return undefined;
  }

  /** @internal Always open until closed. */
  protected ensureOpen(): undefined {
    return undefined;
  }
}

/**
 * Where the default storage is kept: on `globalThis` under a registered symbol, so the
 * ESM and CommonJS builds (and every entry) of pocketmq loaded in one process share one.
 */
const DEFAULT_STORAGE = Symbol.for('pocketmq.defaultStorage');

/** The process-wide MemoryStorage that handles use when given no `storage`. */
export function getDefaultStorage(): MemoryStorage {
  const holder = globalThis as { [DEFAULT_STORAGE]?: MemoryStorage };
  const current = holder[DEFAULT_STORAGE];
  if (current && !(current as unknown as { closed: boolean }).closed) return current;
  const created = new MemoryStorage();
  Object.defineProperty(holder, DEFAULT_STORAGE, { value: created, configurable: true, writable: true, enumerable: false });
  return created;
}
