/**
 * `Queue.schedule()`, `schedules()` and `unschedule()`, loaded by the first of them (a
 * dynamic import): an app that never schedules carries none of this, nor the runner.
 */
import { UnsupportedError } from './errors.js';
import { resolveSchedule, type ResolvedSchedule, type ScheduleInfo, scheduleInfo, type ScheduleOptions, type ScheduleSpec } from './schedule.js';
import { cronRule, everyRule } from './schedule-ticks.js';
import type { EnqueuePolicy, Storage, StoredSchedule } from './storage/storage.js';
import { checkName, expected } from './validate.js';

/** What the operations need of a Queue handle. */
export interface SchedulingHandle {
  readonly name: string;
  readonly storage: Storage;
  /** The handle's bounds: the ticks' sends are enqueued under them. */
  readonly policy: EnqueuePolicy;
  /** Throws `ClosedError` once the handle is closed. */
  checkOpen(): void;
}

/** A storage with the optional schedule operations. */
type ScheduleStorage = Storage & Required<Pick<Storage, 'putSchedule' | 'deleteSchedule' | 'listSchedules' | 'fireSchedule'>>;

function scheduleStorage(handle: SchedulingHandle, operation: string): ScheduleStorage {
  const s = handle.storage;
  if (typeof s.putSchedule !== 'function' || typeof s.deleteSchedule !== 'function' || typeof s.listSchedules !== 'function' || typeof s.fireSchedule !== 'function') {
    throw new UnsupportedError(operation, `Cannot ${operation}(): the storage of queue "${handle.name}" has no schedules (it lacks putSchedule, deleteSchedule, listSchedules or fireSchedule)`);
  }
  return s as ScheduleStorage;
}

/** See `Queue.schedule`. */
export async function schedule<T>(handle: SchedulingHandle, id: string, spec: ScheduleSpec, body: T, options: ScheduleOptions | undefined): Promise<ScheduleInfo<T>> {
  const storage = scheduleStorage(handle, 'schedule');
  const r = resolveSchedule(id, spec, body, options, storage.capabilities.checksBodies);
  const now = storage.clock.now();
  const existing = (await storage.listSchedules(handle.name, now)).find(({ schedule }) => schedule.id === r.id)?.schedule;
  const kept = existing !== undefined && existing.every === r.every && existing.cron === r.cron && existing.tz === r.tz && existing.options.startAt === r.startAt;
  // Computed even when the schedule is kept: a cron rule checks the expression.
  const first = await firstTick(r, now);
  const next = kept ? existing.next : first;
  if (next === undefined || (r.endAt !== undefined && next > r.endAt)) {
    throw expected('options.endAt', `a time at or after the schedule's first tick (${next === undefined ? 'there is none' : next})`, r.endAt, RangeError);
  }
  const stored: StoredSchedule = {
    id: r.id,
    every: r.every,
    cron: r.cron,
    tz: r.tz,
    next,
    last: kept ? existing.last : undefined,
    count: kept ? existing.count : 0,
    body,
    options: r.options,
    policy: handle.policy,
  };
  handle.checkOpen();
  await storage.putSchedule(handle.name, stored, now);
  return scheduleInfo<T>(stored);
}

/** The first tick of a new schedule: after `now`, and not before `startAt`. */
async function firstTick(r: ResolvedSchedule, now: number): Promise<number | undefined> {
  const { every, startAt } = r;
  if (every !== undefined) {
    if (startAt === undefined) return now + every;
    // A start in the past: the first tick on its grid after now (ticks before the schedule existed are not owed).
    return startAt >= now ? startAt : everyRule(every, startAt).after(now);
  }
  const rule = await cronRule(r.cron!, r.tz!);
  return rule.after(startAt !== undefined && startAt > now ? startAt - 1 : now);
}

/** See `Queue.schedules`. */
export async function schedules<T>(handle: SchedulingHandle): Promise<ScheduleInfo<T>[]> {
  const storage = scheduleStorage(handle, 'schedules');
  const listed = await storage.listSchedules(handle.name, storage.clock.now());
  return listed.map(({ schedule }) => scheduleInfo<T>(schedule));
}

/** See `Queue.unschedule`. */
export async function unschedule(handle: SchedulingHandle, id: string): Promise<boolean> {
  checkName('id', id);
  const storage = scheduleStorage(handle, 'unschedule');
  return storage.deleteSchedule(handle.name, id, storage.clock.now());
}
