import type { Clock, TimerHandle } from './clock.js';
import { ClosedError, QueueFullError } from './errors.js';
import { newMessage } from './options.js';
import { scheduleSettings } from './schedule.js';
import { cronRule, everyRule, latestTick, type TickRule } from './schedule-ticks.js';
import type { NewMessage, Storage, StoredSchedule } from './storage/storage.js';

/** The header every scheduled send carries: the id of the schedule that sent it. */
export const SCHEDULE_HEADER = 'x-schedule';

/** Most messages one tick of a `catchUp: 'all'` schedule sends at once; the rest follow at once, in the next turns. */
const MAX_TICKS_PER_FIRE = 1_000;

/** How long the runner waits before trying again after a failed tick, in ms. */
const FAILED_FIRE_RETRY_MS = 1_000;

/** The rule a stored schedule ticks by. */
export function ruleOf(schedule: Pick<StoredSchedule, 'every' | 'cron' | 'tz' | 'next'>): TickRule | Promise<TickRule> {
  return schedule.every !== undefined ? everyRule(schedule.every, schedule.next) : cronRule(schedule.cron!, schedule.tz ?? 'UTC');
}

/**
 * Fires the schedules of one storage, in this process: one timer (of kind `'schedule'`)
 * set to the earliest tick the storage reports, never a timer per schedule. At the
 * timer it lists the due schedules, works out each one's ticks (the cron arithmetic
 * runs here, not in the storage) and fires them with the storage's compare-and-set
 * `fireSchedule`, so that of several processes holding the storage one sends each tick.
 * The timer never keeps the process alive: schedules are not work someone waits for.
 */
export class ScheduleRunner {
  readonly #storage: Storage;
  readonly #clock: Clock;
  readonly #onError: (queue: string, error: unknown) => void;
  #timer: TimerHandle | undefined = undefined;
  #timerAt: number | undefined = undefined;
  #dueAt: number | undefined = undefined;
  /**
   * When this process first heard of the storage's schedules: ticks due before it fell
   * due while no process ran (what `catchUp: 'none'` skips).
   */
  #startedAt: number | undefined = undefined;
  #running = false;
  /** Counts 'schedules' signals, to tell whether one came during a run. */
  #signals = 0;
  #closed = false;

  constructor(storage: Storage, onError: (queue: string, error: unknown) => void) {
    this.#storage = storage;
    this.#clock = storage.clock;
    this.#onError = onError;
  }

  /** The storage's earliest tick is now `at` (`undefined`: no schedule left). */
  dueAt(at: number | undefined): void {
    if (this.#closed) return;
    this.#startedAt ??= this.#clock.now();
    this.#signals++;
    this.#dueAt = at;
    if (!this.#running) this.#arm();
  }

  /** The storage closed: no more ticks from this process. */
  close(): void {
    this.#closed = true;
    this.#dueAt = undefined;
    this.#clear();
  }

  #clear(): void {
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#timerAt = undefined;
  }

  #arm(): void {
    const at = this.#dueAt;
    if (this.#timer !== undefined && this.#timerAt === at) return;
    this.#clear();
    if (at === undefined || this.#closed) return;
    this.#timerAt = at;
    this.#timer = this.#clock.setTimer(() => this.#fire(), Math.max(0, at - this.#clock.now()), false, 'schedule');
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = undefined;
    this.#running = true;
    const signals = this.#signals;
    const now = this.#clock.now();
    const work = this.#fireDue(now).then(({ earliest, failed, raced }) => {
      this.#running = false;
      // A failure would fail again at once: try again a little later rather than spin.
      if (failed) this.#dueAt = this.#dueAt === undefined ? undefined : Math.max(this.#dueAt, now + FAILED_FIRE_RETRY_MS);
      // A storage that reports its schedules later (Redis re-reads them) has not yet: what
      // this run saw is the best known, and a tick another process fired is looked up again.
      else if (signals === this.#signals) this.#dueAt = raced ? now : earliest;
      this.#arm();
    });
    // A test clock waits for the sends a tick makes before moving on.
    this.#clock.track?.(work);
  }

  /**
   * Fires every schedule due by `now`; an error is reported on the schedule's queue, and
   * the other schedules go on.
   * Resolves with the earliest tick left as this run saw it, whether something failed,
   * and whether another process fired a tick first (then its next tick is not known here).
   */
  async #fireDue(now: number): Promise<{ earliest: number | undefined; failed: boolean; raced: boolean }> {
    let earliest: number | undefined;
    let raced = false;
    let failed = false;
    let all: { queue: string; schedule: StoredSchedule }[];
    try {
      all = await this.#storage.listSchedules!(undefined, now);
    } catch (error) {
      if (!(error instanceof ClosedError)) this.#onError('', error);
      return { earliest, failed: true, raced };
    }
    for (const { queue, schedule } of all) {
      if (this.#closed) break;
      let next: number | undefined | 'stale' = schedule.next;
      if (schedule.next <= now) {
        try {
          next = await this.#fireOne(queue, schedule, now);
        } catch (error) {
          if (error instanceof ClosedError) break;
          // The others go on; this one is tried again a little later.
          this.#onError(queue, error);
          failed = true;
          continue;
        }
      }
      if (next === 'stale') raced = true;
      else if (next !== undefined && (earliest === undefined || next < earliest)) earliest = next;
    }
    return { earliest, failed, raced };
  }

  /**
   * Sends what one due schedule owes by `now`, as its `catchUp` says, and advances it.
   * Resolves with its next tick (`undefined`: it is gone), or `'stale'` when another
   * process fired the tick or changed the schedule first.
   */
  async #fireOne(queue: string, schedule: StoredSchedule, now: number): Promise<number | undefined | 'stale'> {
    const settings = scheduleSettings(schedule);
    const rule = await ruleOf(schedule);
    const { endAt, limit, catchUp } = settings;
    const bound = endAt === undefined ? now : Math.min(now, endAt);
    const room = limit === undefined ? Infinity : limit - schedule.count;
    const ticks: number[] = [];
    let next: number | undefined;
    if (schedule.next > bound || room <= 0) {
      next = undefined;
    } else if (catchUp === 'all') {
      let tick: number | undefined = schedule.next;
      while (tick !== undefined && tick <= bound && ticks.length < Math.min(room, MAX_TICKS_PER_FIRE)) {
        ticks.push(tick);
        tick = rule.after(tick);
      }
      next = tick;
    } else {
      const latest = latestTick(rule, schedule.next, bound);
      // 'none' sends a tick only if it fell due while this process was running.
      if (catchUp === 'one' || latest >= this.#startedAt!) ticks.push(latest);
      next = rule.after(latest);
    }
    const count = schedule.count + ticks.length;
    if (next !== undefined && ((endAt !== undefined && next > endAt) || (limit !== undefined && count >= limit))) next = undefined;
    const items = ticks.map((tick) => this.#message(schedule, settings.send, tick, now));
    const last = ticks.length > 0 ? ticks[ticks.length - 1] : schedule.last;
    const result = await this.#storage.fireSchedule!(queue, schedule.id, schedule.next, { next, last, count }, items, now);
    if (result === 'stale') return 'stale';
    if (result.full) this.#onError(queue, new QueueFullError(queue, schedule.policy.maxLength!));
    return next;
  }

  #message(schedule: StoredSchedule, send: ReturnType<typeof scheduleSettings>['send'], tick: number, now: number): NewMessage {
    return newMessage(schedule.body, { ...send, dedupeId: `${schedule.id}@${tick}`, headers: { ...send.headers, [SCHEDULE_HEADER]: schedule.id } }, now);
  }
}
