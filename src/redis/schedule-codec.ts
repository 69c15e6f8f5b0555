/**
 * How a schedule is kept in Redis: a field of the queue's `T:sch` hash, `next|JSON`,
 * where the JSON holds the rest of {@link StoredSchedule}. `next` comes first, as text,
 * so that the script compares it without decoding anything (see lua/schedule.ts).
 */
import { PocketMQError } from '../errors.js';
import type { CodecContext } from '../storage/body-codec.js';
import { isUnreadable } from '../storage/unreadable-body.js';
import type { EnqueuePolicy, StoredSchedule } from '../storage/storage.js';
import { type BodyLines, PLAIN_LINES } from './body-lines.js';

function scheduleContext(queue: string, id: string): CodecContext {
  return { kind: 'schedule', id, queue };
}

/**
 * The stored string of a schedule of `queue`. With codecs its body is kept as its stored
 * text in `sealed` (see body-lines.ts) instead of as JSON in `body`.
 */
export function encodeSchedule(queue: string, s: StoredSchedule, lines: BodyLines = PLAIN_LINES): string {
  const sealed = lines === PLAIN_LINES && !isUnreadable(s.body) ? undefined : lines.text(s.body, scheduleContext(queue, s.id));
  const rest = {
    every: s.every,
    cron: s.cron,
    tz: s.tz,
    last: s.last,
    count: s.count,
    options: s.options,
    policy: { maxLength: s.policy.maxLength ?? null, overflow: s.policy.overflow, deadLetter: s.policy.deadLetter, dedupeWindow: s.policy.dedupeWindow },
    body: sealed === undefined ? s.body : undefined,
    sealed,
  };
  return `${String(s.next)}|${JSON.stringify(rest)}`;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * A schedule read back, with `nextText` (the exact text its `next` is stored as, what the
 * script compares). A value that is not one this codec wrote is an `ERR_REDIS` error:
 * JSON.parse makes a `"__proto__"` key an own property, never a prototype.
 */
export function decodeSchedule(queue: string, id: string, text: string, lines: BodyLines = PLAIN_LINES): { schedule: StoredSchedule; nextText: string } {
  const bar = text.indexOf('|');
  const nextText = bar < 0 ? '' : text.slice(0, bar);
  const next = Number(nextText);
  let rest: unknown;
  try {
    rest = JSON.parse(text.slice(bar + 1));
  } catch {
    rest = undefined;
  }
  const r = rest as Record<string, unknown> | undefined;
  const p = isObject(r) && isObject(r.policy) ? r.policy : undefined;
  const valid =
    bar > 0 &&
    Number.isFinite(next) &&
    p !== undefined &&
    (r!.every === undefined ? typeof r!.cron === 'string' && typeof r!.tz === 'string' : isFiniteNumber(r!.every) && r!.every >= 1) &&
    (r!.last === undefined || isFiniteNumber(r!.last)) &&
    Number.isSafeInteger(r!.count) &&
    isObject(r!.options) &&
    (p.maxLength === null || Number.isSafeInteger(p.maxLength)) &&
    (p.overflow === 'reject' || p.overflow === 'drop-oldest') &&
    (p.deadLetter === false || typeof p.deadLetter === 'string') &&
    isFiniteNumber(p.dedupeWindow) &&
    (r!.sealed === undefined || typeof r!.sealed === 'string');
  if (!valid) throw new PocketMQError('ERR_REDIS', `RedisStorage: schedule "${id}" of queue "${queue}" is not one pocketmq stored`);
  const policy: EnqueuePolicy = { maxLength: (p.maxLength as number | null) ?? undefined, overflow: p.overflow as EnqueuePolicy['overflow'], deadLetter: p.deadLetter as string | false, dedupeWindow: p.dedupeWindow as number };
  return {
    nextText,
    schedule: {
      id,
      every: r!.every as number | undefined,
      cron: r!.cron as string | undefined,
      tz: r!.tz as string | undefined,
      next,
      last: r!.last as number | undefined,
      count: r!.count as number,
      body: typeof r!.sealed === 'string' ? lines.read(r!.sealed, scheduleContext(queue, id)) : lines === PLAIN_LINES ? r!.body : lines.read(JSON.stringify(r!.body) ?? '', scheduleContext(queue, id)),
      options: r!.options as Record<string, unknown>,
      policy,
    },
  };
}
