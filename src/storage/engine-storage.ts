import { type Clock, systemClock } from '../clock.js';
import { Engine } from '../engine/engine.js';
import type { EngineErrors } from '../engine/types.js';
import { DEAD_LETTER_HEADERS } from '../dead-letter-headers.js';
import { ClosedError, OutOfRangeError, PocketMQError } from '../errors.js';
import { expected, isName } from '../validate.js';
import { disposeWith } from '../dispose.js';
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
} from './storage.js';
import { type QueueContents, copyMessage } from './queue-contents.js';
import { EntryState, type Entry } from '../engine/entry.js';
import { drainedSignal, dropQueueSignals, readySignal } from './queue-signals.js';


/** The engine throws the library's errors, made here so that it imports nothing outside src/engine/. */
export const ENGINE_ERRORS: EngineErrors = {
  outOfRange: (argument, message) => new OutOfRangeError(argument, message),
  internal: (message) => new PocketMQError('ERR_INTERNAL', message),
};

/**
 * The base of MemoryStorage and FileStorage: a Storage whose state is pocketmq's
 * in-process state machine (FileStorage keeps a log under it). Each operation runs
 * synchronously (so it is atomic), sends the signals it caused, then waits until the
 * subclass has made it durable before resolving.
 */
export abstract class EngineStorage implements Storage {
  readonly clock: Clock;
  /** The engine knows when a queue empties, and runs each operation when it is called. */
  readonly capabilities: StorageCapabilities;
  /** @internal The in-process state. */
  protected readonly engine = new Engine(DEAD_LETTER_HEADERS, ENGINE_ERRORS);
  #watchers: ((signal: StorageSignal) => void)[] = [];
  /** The due time last sent in a 'due' signal. */
  #lastDue: number | undefined = undefined;
  /** The earliest schedule tick last sent in a 'schedules' signal. */
  #lastScheduleAt: number | undefined = undefined;
  /** Set by tick(): its signals send the due time as it is, later or not. */
  #exactDue = false;
  #closed = false;

  /** @internal True once closed; setting it tells the watchers, so waiters and timers let go. */
  protected get closed(): boolean {
    return this.#closed;
  }

  /** @internal */
  protected set closed(value: boolean) {
    const closing = value && !this.#closed;
    this.#closed = value;
    if (closing) this.#send(this.#watchers, { type: 'closed' });
  }

  /**
   * @internal Subclasses check their options, then pass the clock, whether sends check bodies
   * ({@link StorageCapabilities.checksBodies}) and whether nothing waits for I/O ({@link StorageCapabilities.settlesAtCall}).
   */
  constructor(clock: Clock | undefined, checksBodies = true, settlesAtCall = false) {
    this.clock = clock ?? systemClock;
    this.capabilities = Object.freeze({ drainedSignals: true, appliesAtCall: true, checksBodies, settlesAtCall });
  }

  abstract open(): Promise<void>;

  /** Closes the storage, as `close()`: `await using storage = new MemoryStorage()` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return disposeWith(() => this.close());
  }
  abstract close(): Promise<void>;

  /** @internal Resolves once the operation just applied is as durable as the storage promises. */
  protected abstract persist(): Promise<void> | undefined;
  /** @internal Resolves when the storage may be used (opened lazily), or undefined when it already may. */
  protected abstract ensureOpen(): Promise<void> | undefined;

  /** @internal */
  protected checkOpen(): void {
    if (this.closed) throw new ClosedError('Storage is closed');
  }

  /**
   * @internal Runs one engine operation atomically, signals, then waits for durability.
   * Not an async function: on an open storage (every memory operation) it costs
   * one settled promise rather than an async frame; errors still come back as
   * rejections, and the promise settles on the same tick as before.
   */
  protected run<T>(operation: () => T): Promise<T> {
    try {
      this.checkOpen();
      const opening = this.ensureOpen();
      if (opening) return this.#runWhenOpen(opening, operation);
      return this.#finish(operation());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Whether an operation may run at once ({@link EngineStorage.run} without its
   * closure): the hot operations (enqueue, claim, ack, stats) call the engine
   * directly when it may, saving a closure per call, and go through `run()` otherwise.
   */
  #direct(): boolean {
    return !this.closed && this.ensureOpen() === undefined;
  }

  /** Signals what an operation changed and waits for durability. Throws what a watcher throws. */
  #finish<T>(result: T): Promise<T> {
    this.flushSignals();
    const durable = this.persist();
    return durable ? durable.then(() => result) : Promise.resolve(result);
  }

  /** {@link EngineStorage.run} on a storage still opening: the operation waits behind the open. */
  async #runWhenOpen<T>(opening: Promise<void>, operation: () => T): Promise<T> {
    await opening;
    this.checkOpen();
    const result = operation();
    this.flushSignals();
    const durable = this.persist();
    if (durable) await durable;
    return result;
  }

  enqueue(queue: string, items: readonly NewMessage[], policy: EnqueuePolicy, now: number): Promise<EnqueueResult> {
    if (!this.#direct()) return this.run(() => this.engine.enqueue(queue, items, policy, now));
    try {
      return this.#finish(this.engine.enqueue(queue, items, policy, now));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  enqueueMany(queues: readonly string[], items: readonly NewMessage[], dedupeWindow: number, now: number): Promise<void> {
    return this.run(() => this.engine.enqueueMany(queues, items, dedupeWindow, now));
  }

  claim(queue: string, request: ClaimRequest, now: number): Promise<ClaimResult> {
    if (!this.#direct()) return this.run(() => this.engine.claim(queue, request, now));
    try {
      return this.#finish(this.engine.claim(queue, request, now));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  ack(queue: string, receipts: readonly Receipt[], now: number): Promise<Settle[]> {
    if (!this.#direct()) return this.run(() => this.engine.ack(queue, receipts, now));
    try {
      return this.#finish(this.engine.ack(queue, receipts, now));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  release(queue: string, receipt: Receipt, dueAt: number, now: number): Promise<Settle> {
    // A due time that is not a finite number never falls due (and a file log could not keep it).
    if (!Number.isFinite(dueAt)) return Promise.reject(expected('dueAt', 'a finite number of ms since the epoch', dueAt, RangeError));
    return this.run(() => this.engine.release(queue, receipt, dueAt, now));
  }

  deadLetter(queue: string, receipt: Receipt, target: string | false, info: DeadLetterInfo, now: number): Promise<Settle> {
    return this.run(() => this.engine.deadLetter(queue, receipt, target, info, now));
  }

  extend(queue: string, receipt: Receipt, leaseUntil: number, now: number): Promise<Settle> {
    return this.run(() => this.engine.extend(queue, receipt, leaseUntil, now));
  }

  forget(queue: string, now: number): Promise<boolean> {
    return this.run(() => {
      const forgotten = this.engine.forget(queue, now);
      if (forgotten) dropQueueSignals(queue);
      return forgotten;
    });
  }

  stats(queue: string, now: number): Promise<QueueStats> {
    if (!this.#direct()) return this.run(() => this.engine.stats(queue, now));
    try {
      return this.#finish(this.engine.stats(queue, now));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The queue's `sent` counter, at once: see {@link Storage.sentNow}. */
  sentNow(queue: string): number | undefined {
    return this.#direct() ? this.engine.sentCount(queue) : undefined;
  }

  purge(queue: string, now: number): Promise<number> {
    return this.run(() => this.engine.purge(queue, now));
  }

  peek(queue: string, max: number, now: number): Promise<StoredMessage[]> {
    return this.run(() => this.engine.peek(queue, max, now));
  }

  putSchedule(queue: string, schedule: StoredSchedule): Promise<void> {
    return this.run(() => this.engine.putSchedule(queue, schedule));
  }

  deleteSchedule(queue: string, id: string): Promise<boolean> {
    return this.run(() => this.engine.deleteSchedule(queue, id));
  }

  listSchedules(queue: string | undefined): Promise<{ queue: string; schedule: StoredSchedule }[]> {
    return this.run(() => this.engine.listSchedules(queue));
  }

  fireSchedule(queue: string, id: string, expectedNext: number, update: ScheduleAdvance, items: readonly NewMessage[], now: number): Promise<FireResult> {
    return this.run(() => this.engine.fireSchedule(queue, id, expectedNext, update, items, now));
  }

  /** Removes one waiting message by id: see {@link Storage.remove}. O(1) on a queue with an id index, else O(n). */
  remove(queue: string, id: string, now: number): Promise<boolean> {
    return this.run(() => this.engine.remove(queue, id, now));
  }

  /** Moves ready messages to their origin (or `request.to`) in one operation, one log batch on FileStorage: see {@link Storage.redrive}. */
  redrive(queue: string, request: RedriveRequest, now: number): Promise<number> {
    if (request.to !== undefined && !isName(request.to)) return Promise.reject(expected('request.to', 'a valid queue name', request.to));
    return this.run(() => this.engine.redrive(queue, request, isName, now));
  }

  /** Lists messages of one state without leasing them: see {@link Storage.browse}. Copies, not live records. */
  browse(queue: string, state: MessageState, max: number, now: number): Promise<BrowsedMessage[]> {
    return this.run(() => this.engine.browse(queue, state, max, now).map(({ message, leaseUntil }) => ({ message: copyMessage(message), leaseUntil })));
  }

  /** The names of the queues that hold messages or counters, sorted: see {@link Storage.queues}. */
  queues(now: number): Promise<string[]> {
    // The queues pocketmq keeps for itself (a topic's `<topic>::subscriptions`) are no handle's to open.
    return this.run(() => this.engine.queueNames(now).filter(isName));
  }

  /** @internal Every queue's messages by state, with its stats, for `inspect()` (see `ContentsStorage`). */
  contents(now: number): Promise<QueueContents[]> {
    return this.run(() => {
      this.engine.advance(now);
      const out: QueueContents[] = [];
      for (const { name, messages } of this.engine.exportState(now).queues) {
        const ready = this.engine.peek(name, Infinity, now).map(copyMessage);
        const delayed: Entry[] = [];
        const inflight: Entry[] = [];
        for (const entry of messages as Iterable<Entry>) {
          if (entry.state === EntryState.Grouped) ready.push(copyMessage(entry));
          else if (entry.state === EntryState.Delayed) delayed.push(entry);
          else if (entry.state === EntryState.Inflight) inflight.push(entry);
        }
        delayed.sort((a, b) => a.availableAt - b.availableAt || a.seq - b.seq);
        inflight.sort((a, b) => a.dueAt - b.dueAt || a.seq - b.seq);
        out.push({
          name,
          ready,
          delayed: delayed.map(copyMessage),
          inflight: inflight.map((entry) => ({ message: copyMessage(entry), leaseUntil: entry.dueAt })),
          stats: this.engine.stats(name, now),
        });
      }
      return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    });
  }

  tick(now: number): Promise<void> {
    return this.run(() => {
      this.#exactDue = true;
      this.engine.advance(now);
    });
  }

  watch(listener: (signal: StorageSignal) => void): () => void {
    this.#watchers = [...this.#watchers, listener];
    // A watcher that comes after the schedules were loaded still learns when they tick.
    // Told on the next microtask: never from inside watch().
    const at = this.#lastScheduleAt;
    if (at !== undefined) queueMicrotask(() => listener({ type: 'schedules', at }));
    return () => {
      this.#watchers = this.#watchers.filter((w) => w !== listener);
    };
  }

  /** @internal Sends what the last operation changed to the watchers. */
  protected flushSignals(): void {
    const watchers = this.#watchers;
    const expired = this.engine.takeExpired();
    if (expired) for (const [queue, messages] of expired) this.#send(watchers, { type: 'expired', queue, messages });
    // Watchers may run operations (a woken consumer claims at once): `ready` is ours to iterate.
    const ready = this.engine.takeReady();
    for (let i = 0; i < ready.length; i++) this.#send(watchers, readySignal(ready[i]!));
    const drained = this.engine.takeDrained();
    for (let i = 0; i < drained.length; i++) this.#send(watchers, drainedSignal(drained[i]!));
    const due = this.engine.nextDueAt();
    // Sent when the due time moves earlier, and at a tick; a later one waits for the timer
    // already set, which then fires early at worst (docs/benchmarks.md).
    const exact = this.#exactDue;
    this.#exactDue = false;
    const last = this.#lastDue;
    // `due < last` rather than a first `due !== last`: both may be `undefined`, and that
    // comparison was a generic call per operation (docs/benchmarks.md).
    if (exact ? due !== last : due !== undefined && (last === undefined || due < last)) {
      this.#lastDue = due;
      this.#send(watchers, { type: 'due', at: due });
    }
    const scheduleAt = this.engine.nextScheduleAt();
    if (scheduleAt !== this.#lastScheduleAt) {
      this.#lastScheduleAt = scheduleAt;
      this.#send(watchers, { type: 'schedules', at: scheduleAt });
    }
  }

  #send(watchers: readonly ((signal: StorageSignal) => void)[], signal: StorageSignal): void {
    for (let i = 0; i < watchers.length; i++) watchers[i]!(signal);
  }
}
