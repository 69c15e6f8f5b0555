import { checkBody } from './body.js';
import { resolveSendOptions, type ResolvedSendOptions, type SendOptions } from './options.js';
import type { StoredSchedule } from './storage/storage.js';
import { checkInteger, checkKeys, checkMs, checkName, checkObject, checkOneOf, expected } from './validate.js';

/**
 * When a schedule ticks: every `every` ms, or at each match of a cron expression
 * (5 fields, or 6 with seconds first; named months and days, `L`, `#` and `W` as
 * croner reads them) on the wall clock of `tz` (an IANA zone; default `'UTC'`).
 */
export type ScheduleSpec = { readonly every: number } | { readonly cron: string; readonly tz?: string };

/**
 * What a schedule does with ticks that fell due while no process held the storage
 * open (or while its timer could not run): `'one'` sends one message for all of them,
 * `'all'` one per missed tick, `'none'` skips them.
 */
export type CatchUp = 'one' | 'all' | 'none';

/**
 * Options of `Queue.schedule()`: when the schedule starts and ends, and the send
 * options of every tick's message (`dedupeId` is the schedule's own: `${id}@${tickTime}`).
 */
export interface ScheduleOptions extends Omit<SendOptions, 'dedupeId'> {
  /** No tick before this time (ms since the epoch, or a Date): an `every` schedule ticks first at it. @defaultValue now */
  startAt?: number | Date;
  /** No tick after this time (ms since the epoch, or a Date); the schedule is removed after its last tick. @defaultValue none */
  endAt?: number | Date;
  /** Most messages to send; the schedule is removed after the last. @defaultValue none */
  limit?: number;
  /** What to do with ticks missed while no process ran; see {@link CatchUp}. @defaultValue `'one'` */
  catchUp?: CatchUp;
}

/** A schedule as `Queue.schedules()` lists it. */
export interface ScheduleInfo<T = unknown> {
  readonly id: string;
  /** The interval in ms, for an `every` schedule. */
  readonly every?: number;
  /** The cron expression, for a cron schedule. */
  readonly cron?: string;
  /** The cron expression's time zone, for a cron schedule. */
  readonly tz?: string;
  /** The next tick's time (ms since the epoch). */
  readonly next: number;
  /** The last tick sent, `undefined` before the first. */
  readonly last: number | undefined;
  /** Messages sent so far. */
  readonly count: number;
  readonly body: T;
  /** The options given to `schedule()`, with `startAt` and `endAt` as ms since the epoch. */
  readonly options: ScheduleOptions;
}

/** The defaults of {@link ScheduleOptions}. */
export const SCHEDULE_DEFAULTS = { catchUp: 'one', tz: 'UTC' } as const;

const SCHEDULE_KEYS = ['startAt', 'endAt', 'limit', 'catchUp'];
const SEND_KEYS = ['delay', 'priority', 'ttl', 'group', 'correlationId', 'subject', 'headers'];

/** A schedule's checked arguments; its first tick is computed from them (see schedule-ticks.ts). */
export interface ResolvedSchedule {
  readonly id: string;
  readonly every: number | undefined;
  readonly cron: string | undefined;
  readonly tz: string | undefined;
  /** The options as stored: plain JSON, times as ms. */
  readonly options: Readonly<Record<string, unknown>>;
  readonly startAt: number | undefined;
  readonly endAt: number | undefined;
  readonly limit: number | undefined;
  readonly catchUp: CatchUp;
}

/** A time option: ms since the epoch or a valid Date. */
function checkTime(name: string, value: unknown): number {
  if (value instanceof Date) {
    const time = value.getTime();
    if (Number.isNaN(time)) throw expected(name, 'a valid Date or a number of ms since the epoch', value, RangeError);
    return time;
  }
  return checkMs(name, value);
}

/** An IANA time zone the runtime knows. */
function checkTimeZone(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw expected(name, 'an IANA time zone name such as "Europe/Paris"', value);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
  } catch {
    throw expected(name, 'an IANA time zone name such as "Europe/Paris" that this runtime knows', value, RangeError);
  }
  return value;
}

/**
 * Checks `schedule()`'s arguments (all but the cron expression's syntax, which the
 * cron library checks) and returns them as the storage keeps them.
 */
export function resolveSchedule(id: unknown, spec: unknown, body: unknown, options: unknown, checkBodies: boolean): ResolvedSchedule {
  checkName('id', id);
  const s = checkObject('spec', spec);
  checkKeys('spec', s, ['every', 'cron', 'tz']);
  if ((s.every === undefined) === (s.cron === undefined)) throw expected('spec', 'an object with either `every` (ms) or `cron` (an expression)', spec);
  let every: number | undefined;
  let cron: string | undefined;
  let tz: string | undefined;
  if (s.every !== undefined) {
    if (s.tz !== undefined) throw expected('spec.tz', 'left out with `every` (a time zone applies to `cron` only)', s.tz);
    every = checkMs('spec.every', s.every, 1);
  } else {
    if (typeof s.cron !== 'string' || s.cron.trim().length === 0) throw expected('spec.cron', 'a cron expression such as "0 3 * * *"', s.cron);
    cron = s.cron;
    tz = s.tz === undefined ? SCHEDULE_DEFAULTS.tz : checkTimeZone('spec.tz', s.tz);
  }
  const o = options === undefined ? {} : checkObject('options', options);
  checkKeys('options', o, [...SCHEDULE_KEYS, ...SEND_KEYS]);
  const startAt = o.startAt === undefined ? undefined : checkTime('options.startAt', o.startAt);
  const endAt = o.endAt === undefined ? undefined : checkTime('options.endAt', o.endAt);
  if (startAt !== undefined && endAt !== undefined && endAt < startAt) throw expected('options.endAt', `a time at or after options.startAt (${startAt})`, endAt, RangeError);
  const limit = o.limit === undefined ? undefined : checkInteger('options.limit', o.limit, 1);
  const catchUp = o.catchUp === undefined ? SCHEDULE_DEFAULTS.catchUp : checkOneOf('options.catchUp', o.catchUp, ['one', 'all', 'none']);
  const send: Record<string, unknown> = {};
  for (const key of SEND_KEYS) if (o[key] !== undefined) send[key] = o[key];
  const resolvedSend = resolveSendOptions(send, 'options');
  if (checkBodies) checkBody(body, 'body');
  const stored: Record<string, unknown> = { ...storedSendOptions(resolvedSend, send) };
  if (startAt !== undefined) stored.startAt = startAt;
  if (endAt !== undefined) stored.endAt = endAt;
  if (limit !== undefined) stored.limit = limit;
  if (o.catchUp !== undefined) stored.catchUp = catchUp;
  return { id: id as string, every, cron, tz, options: stored, startAt, endAt, limit, catchUp };
}

/** The send options as given (checked), headers copied as `resolveSendOptions` made them. */
function storedSendOptions(resolved: ResolvedSendOptions, given: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...given };
  if (resolved.headers !== undefined) out.headers = { ...resolved.headers };
  else delete out.headers;
  return out;
}

/** The schedule and send options of a stored schedule, read back (checked again: a log or Redis hash is outside input). */
export function scheduleSettings(schedule: StoredSchedule): {
  send: ResolvedSendOptions;
  startAt: number | undefined;
  endAt: number | undefined;
  limit: number | undefined;
  catchUp: CatchUp;
} {
  const o = schedule.options;
  const send: Record<string, unknown> = {};
  for (const key of SEND_KEYS) if (o[key] !== undefined) send[key] = o[key];
  return {
    send: resolveSendOptions(send, `schedule "${schedule.id}" options`),
    startAt: o.startAt === undefined ? undefined : checkMs('options.startAt', o.startAt),
    endAt: o.endAt === undefined ? undefined : checkMs('options.endAt', o.endAt),
    limit: o.limit === undefined ? undefined : checkInteger('options.limit', o.limit, 1),
    catchUp: o.catchUp === undefined ? SCHEDULE_DEFAULTS.catchUp : checkOneOf('options.catchUp', o.catchUp, ['one', 'all', 'none']),
  };
}

/** A stored schedule as `schedules()` shows it. */
export function scheduleInfo<T>(schedule: StoredSchedule): ScheduleInfo<T> {
  const base = { id: schedule.id, next: schedule.next, last: schedule.last, count: schedule.count, body: schedule.body as T, options: { ...schedule.options } as ScheduleOptions };
  return schedule.every !== undefined ? { ...base, every: schedule.every } : { ...base, cron: schedule.cron!, tz: schedule.tz! };
}
