import type { Clock, TimerHandle } from './clock.js';
import { ClosedError } from './errors.js';
import { reportUnhandled } from './events.js';
import { NameMap } from './engine/name-map.js';
import type { ScheduleRunner } from './schedule-runner.js';
import type { Storage, StorageSignal, StoredMessage } from './storage/storage.js';

/** What a handle registers to hear about its queue. */
export interface QueueListener {
  /** Messages of the queue expired while waiting. */
  expired(messages: readonly StoredMessage[]): void;
  /** A background tick failed. */
  error(error: unknown): void;
}

/**
 * One per storage, shared by every handle on it: holds the storage's single timer
 * (set to the earliest due time the storage reports), wakes whoever waits for a
 * queue, and routes signals to the handles of that queue.
 *
 * The timer keeps the process alive only while something holds it
 * ({@link Scheduler.hold}): a pending `receive({ wait })`, an `idle()` with work
 * still due, a request awaiting its reply. Otherwise it is unref'd.
 */
export class Scheduler {
  readonly #storage: Storage;
  readonly #clock: Clock;
  #timer: TimerHandle | undefined = undefined;
  #timerAt: number | undefined = undefined;
  #timerKeepsAlive = false;
  #dueAt: number | undefined = undefined;
  #holds = 0;
  #closed = false;
  /**
   * Per queue: its wake count and who waits for its wakes. An entry lives while a
   * handle of the queue is open or someone waits on it (see {@link Scheduler.#release}),
   * so queues used once and closed leave nothing behind.
   */
  #wakes = new NameMap<QueueWakes>();
  #listeners = new NameMap<Set<WeakRef<QueueListener>>>();
  /**
   * Fires the storage's schedules; loaded and made when the storage first reports one
   * (a dynamic import: apps that never schedule do not carry it).
   */
  #schedules: ScheduleRunner | undefined = undefined;
  #schedulesLoading: Promise<void> | undefined = undefined;
  /** The earliest schedule tick last reported, for the runner once it is loaded. */
  #scheduleAt: number | undefined = undefined;

  constructor(storage: Storage) {
    this.#storage = storage;
    this.#clock = storage.clock;
    storage.watch((signal) => this.#onSignal(signal));
  }

  #wakesOf(queue: string): QueueWakes {
    let wakes = this.#wakes.get(queue);
    if (!wakes) {
      wakes = { version: 0, once: [], every: [], drains: 0, drained: [] };
      this.#wakes.set(queue, wakes);
    }
    return wakes;
  }

  /** The wake count of a queue; compare before and after a claim to spot a missed wake. */
  version(queue: string): number {
    return this.#wakes.get(queue)?.version ?? 0;
  }

  /** Calls `wake` once, at the next wake of `queue`. Returns the function that cancels it. */
  onWake(queue: string, wake: () => void): () => void {
    if (this.#closed) {
      // Nothing will wake it any more: let the waiter look now, and meet ClosedError.
      queueMicrotask(wake);
      return () => {};
    }
    const wakes = this.#wakesOf(queue);
    wakes.once.push(wake);
    return () => {
      const index = wakes.once.indexOf(wake);
      if (index >= 0) wakes.once.splice(index, 1);
      this.#release(queue);
    };
  }

  /**
   * Calls `wake` at every wake of `queue` until the returned function is called: for a
   * waiter that looks again on each wake (`idle()`), without registering anew each time.
   */
  onEveryWake(queue: string, wake: () => void): () => void {
    const wakes = this.#wakesOf(queue);
    // Copied on change, so a wake can iterate the list it found while listeners come and go.
    wakes.every = [...wakes.every, wake];
    return () => {
      wakes.every = wakes.every.filter((w) => w !== wake);
      this.#release(queue);
    };
  }

  /** How many times `queue` was signalled drained; compare before and after a look at it to spot a missed one. */
  drains(queue: string): number {
    return this.#wakes.get(queue)?.drains ?? 0;
  }

  /**
   * Calls `drained` each time the storage signals that `queue` became empty (and when
   * the storage closes), until the returned function is called. Only storages with
   * `capabilities.drainedSignals` send that signal.
   */
  onEveryDrain(queue: string, drained: () => void): () => void {
    const wakes = this.#wakesOf(queue);
    wakes.drained = [...wakes.drained, drained];
    return () => {
      wakes.drained = wakes.drained.filter((d) => d !== drained);
      this.#release(queue);
    };
  }

  #drained(queue: string): void {
    // No entry: no handle is open on the queue and nobody waits on it.
    const wakes = this.#wakes.get(queue);
    if (!wakes) return;
    wakes.drains++;
    const { drained } = wakes;
    for (let i = 0; i < drained.length; i++) drained[i]!();
  }

  /** Wakes everyone waiting on `queue`: something about it changed. */
  wake(queue: string): void {
    const wakes = this.#wakes.get(queue);
    if (!wakes) return;
    wakes.version++;
    const { once, every } = wakes;
    if (once.length > 0) {
      wakes.once = [];
      for (let i = 0; i < once.length; i++) once[i]!();
      // A waiter of a queue whose handles all closed (a consumer stopping) leaves nothing behind.
      if (!this.#listeners.has(queue)) this.#release(queue);
    }
    for (let i = 0; i < every.length; i++) every[i]!();
  }

  /**
   * Registers an open handle of `queue`: routes the queue's expiries and background
   * errors to `listener` while it lives, and keeps the queue's wake count. Returns the
   * function the handle calls when it closes.
   */
  listen(queue: string, listener: QueueListener): () => void {
    this.#wakesOf(queue);
    let set = this.#listeners.get(queue);
    if (!set) {
      set = new Set();
      this.#listeners.set(queue, set);
    }
    const ref = new WeakRef(listener);
    set.add(ref);
    return () => {
      set.delete(ref);
      this.#release(queue);
    };
  }

  /** @internal For tests: how many queues the scheduler keeps anything for. */
  get trackedQueues(): number {
    return new Set([...this.#wakes.keys(), ...this.#listeners.keys()]).size;
  }

  /** Drops what the scheduler keeps for `queue` once no handle of it is open and nobody waits on it. */
  #release(queue: string): void {
    const set = this.#listeners.get(queue);
    if (set !== undefined && set.size > 0) return;
    const wakes = this.#wakes.get(queue);
    if (wakes !== undefined && (wakes.once.length > 0 || wakes.every.length > 0 || wakes.drained.length > 0)) return;
    this.#listeners.delete(queue);
    this.#wakes.delete(queue);
  }

  /** Keeps the process alive while the returned function has not been called. */
  hold(): () => void {
    let held = true;
    this.#holds++;
    this.#arm();
    return () => {
      if (!held) return;
      held = false;
      this.#holds--;
      this.#arm();
    };
  }

  #onSignal(signal: StorageSignal): void {
    switch (signal.type) {
      case 'ready':
        this.wake(signal.queue);
        break;
      case 'drained':
        this.#drained(signal.queue);
        break;
      case 'expired':
        for (const listener of this.#listenersOf(signal.queue)) listener.expired(signal.messages);
        this.wake(signal.queue);
        break;
      case 'due':
        this.#dueAt = signal.at;
        this.#arm();
        break;
      case 'schedules':
        if (this.#closed) break;
        this.#scheduleAt = signal.at;
        if (this.#schedules) this.#schedules.dueAt(signal.at);
        else this.#loadScheduleRunner();
        break;
      case 'closed':
        this.#close();
        break;
    }
  }

  /**
   * The storage closed: drop the timer (a closed storage must not keep the process
   * alive) and wake every waiter, whose next storage call then rejects with
   * `ClosedError` and lets go of its hold.
   */
  #close(): void {
    this.#closed = true;
    this.#dueAt = undefined;
    this.#schedules?.close();
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#timerAt = undefined;
    for (const [queue, wakes] of [...this.#wakes]) {
      if (wakes.once.length > 0 || wakes.every.length > 0) this.wake(queue);
      if (wakes.drained.length > 0) this.#drained(queue);
    }
  }

  #loadScheduleRunner(): void {
    if (this.#schedulesLoading) return;
    this.#schedulesLoading = import('./schedule-runner.js').then(({ ScheduleRunner }) => {
      if (this.#closed) return;
      this.#schedules = new ScheduleRunner(this.#storage, (queue, error) => this.#scheduleFailed(queue, error));
      this.#schedules.dueAt(this.#scheduleAt);
    });
    // A test clock waits for it before moving time, so the first tick is not missed.
    this.#storage.clock.track?.(this.#schedulesLoading);
  }

  /** A schedule's tick failed: told to the handles of its queue, or else to every handle, or else as a process warning. */
  #scheduleFailed(queue: string, error: unknown): void {
    let listeners = [...this.#listenersOf(queue)];
    if (listeners.length === 0) listeners = [...this.#listeners.keys()].flatMap((name) => [...this.#listenersOf(name)]);
    for (const listener of listeners) listener.error(error);
    if (listeners.length === 0) reportUnhandled(error, `a schedule of queue "${queue}"`);
  }

  *#listenersOf(queue: string): Generator<QueueListener> {
    const set = this.#listeners.get(queue);
    if (!set) return;
    for (const ref of set) {
      const listener = ref.deref();
      if (listener) yield listener;
      else set.delete(ref);
    }
  }

  /**
   * Sets the one timer to the earliest due time, ref'd only while held. A timer
   * already set no later than needed is kept: firing early costs one idle tick,
   * while re-setting a timer on every ack (the earliest lease moves each time) costs
   * a clear and a set per operation.
   */
  #arm(): void {
    const at = this.#dueAt;
    const keepAlive = this.#holds > 0;
    if (keepAlive === this.#timerKeepsAlive && this.#timer !== undefined && (at === undefined || this.#timerAt! <= at)) return;
    if (keepAlive === this.#timerKeepsAlive && this.#timer === undefined && at === undefined) return;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    this.#timerKeepsAlive = keepAlive;
    if (at === undefined) return;
    this.#timer = this.#clock.setTimer(() => this.#fire(), Math.max(0, at - this.#clock.now()), keepAlive);
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = undefined;
    const now = this.#clock.now();
    this.#storage.tick(now).catch((error: unknown) => {
      // Either way the due time has not moved, and re-arming for it would spin the timer.
      if (error instanceof ClosedError) {
        this.#dueAt = undefined;
      } else {
        if (this.#dueAt !== undefined) this.#dueAt = Math.max(this.#dueAt, now + FAILED_TICK_RETRY_MS);
        for (const set of this.#listeners.values()) {
          for (const ref of set) ref.deref()?.error(error);
        }
      }
      this.#arm();
    });
    // If the tick changed nothing due (e.g. the clock ran early), re-arm for what is still due.
    queueMicrotask(() => this.#arm());
  }
}

/** A queue's wake count and its waiters: `once` are called at the next wake only, `every` at each. */
interface QueueWakes {
  version: number;
  once: (() => void)[];
  every: readonly (() => void)[];
  /** Times the queue was signalled drained, and who listens for it. */
  drains: number;
  drained: readonly (() => void)[];
}

/** How long a failed tick waits before the next try, in ms. */
const FAILED_TICK_RETRY_MS = 1_000;

const schedulers = new WeakMap<Storage, Scheduler>();

/** The scheduler of a storage, made on first use. */
export function schedulerOf(storage: Storage): Scheduler {
  let scheduler = schedulers.get(storage);
  if (!scheduler) {
    scheduler = new Scheduler(storage);
    schedulers.set(storage, scheduler);
  }
  return scheduler;
}
