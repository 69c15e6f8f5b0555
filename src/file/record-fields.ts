/**
 * The one definition of what each field of a FileStorage log record may hold. The
 * writer checks a field with it before the record is written, and replay checks
 * every field with it before a batch is applied, so no record is ever written that
 * replay would refuse, and no record replay accepts can hold what the writer never
 * writes. See the record layouts in docs/file-format.md.
 */

/** A field the writer would not be able to read back: the operation that made it must fail. */
export class UnencodableFieldError extends RangeError {
  constructor(field: string, what: string, value: unknown) {
    super(`Expected log record field \`${field}\` to be ${what}, got ${describe(value)}; nothing of its batch was written`);
    this.name = 'UnencodableFieldError';
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)} (string)`;
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  if (typeof value === 'number' && Object.is(value, -0)) return '-0 (number)';
  return `${String(value)} (${typeof value})`;
}

export const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
export const isPriority = (value: unknown): value is number => Number.isSafeInteger(value);
/** Attempts, counters and lease tokens. */
export const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
/** Queue names, ids and dedupe ids: never empty. */
export const isKey = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
export const isText = (value: unknown): value is string => typeof value === 'string';
/** A schedule's interval: at least 1 ms. */
export const isEvery = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 1;

/** A plain JSON object (not an array, not null); a schedule's options. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An enqueue policy as a SCHEDULE record holds it. */
export function isPolicy(value: unknown): value is Record<string, unknown> {
  if (!isPlainObject(value)) return false;
  const { maxLength, overflow, deadLetter, dedupeWindow } = value;
  if (Object.keys(value).length !== 4) return false;
  return (maxLength === null || isCount(maxLength)) && (overflow === 'reject' || overflow === 'drop-oldest') && (deadLetter === false || isKey(deadLetter)) && isTime(dedupeWindow) && dedupeWindow >= 0;
}

/** A check of one record field. */
export type RecordCheck = (value: unknown) => boolean;

/** A plain object of string values (JSON.parse makes a `"__proto__"` key an own property, never a prototype). */
export function isHeaders(value: unknown): value is Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const key in value) if (typeof (value as Record<string, unknown>)[key] !== 'string') return false;
  return true;
}

const WHAT = new Map<(value: unknown) => boolean, string>([
  [isTime, 'a finite number'],
  [isPriority, 'a safe integer'],
  [isCount, 'a safe integer >= 0'],
  [isKey, 'a non-empty string'],
  [isText, 'a string'],
  [isHeaders, 'an object of string values'],
  [isEvery, 'a finite number >= 1'],
]);

/** `value` as record text, or an {@link UnencodableFieldError} naming `field`. */
export function numberField(field: string, value: unknown, check: (value: unknown) => value is number): string {
  if (check(value)) return String(value);
  throw new UnencodableFieldError(field, WHAT.get(check)!, value);
}

export function optionalNumberField(field: string, value: unknown, check: (value: unknown) => value is number): string {
  return value === undefined ? 'null' : numberField(field, value, check);
}

export function stringField(field: string, value: unknown, check: (value: unknown) => value is string): string {
  if (check(value)) return JSON.stringify(value);
  throw new UnencodableFieldError(field, WHAT.get(check)!, value);
}

export function optionalStringField(field: string, value: unknown): string {
  return value === undefined ? 'null' : stringField(field, value, isText);
}

export function headersField(field: string, value: unknown): string {
  if (value === undefined) return 'null';
  if (isHeaders(value)) return JSON.stringify(value);
  throw new UnencodableFieldError(field, WHAT.get(isHeaders)!, value);
}

type Check = RecordCheck;
const orNull = (check: Check): Check => (value) => value === null || check(value);
const isRemovalCode = (value: unknown) => value === 0 || value === 1 || value === 2 || value === 3;

/** PUT (and SEALED_PUT): its optional body (any JSON) comes last. */
const PUT_LAYOUT: readonly [string, Check][] = [
  ['queue', isKey], ['id', isKey], ['priority', isPriority], ['enqueuedAt', isTime], ['availableAt', isTime],
  ['expiresAt', orNull(isTime)], ['dedupeId', orNull(isKey)], ['dedupeUntil', orNull(isTime)], ['group', orNull(isText)],
  ['correlationId', orNull(isText)], ['subject', orNull(isText)], ['headers', orNull(isHeaders)], ['attempt', isCount],
];
/** SCHEDULE (and SEALED_SCHEDULE): its optional body (any JSON) comes last. */
const SCHEDULE_LAYOUT: readonly [string, Check][] = [
  ['queue', isKey], ['id', isKey], ['every', orNull(isEvery)], ['cron', orNull(isKey)], ['tz', orNull(isKey)], ['next', isTime],
  ['last', orNull(isTime)], ['count', isCount], ['options', isPlainObject], ['policy', isPolicy],
];

/** Record type → the check of each field after the type, by position; PUT's optional body (any JSON) comes last. */
const LAYOUTS: readonly (readonly [string, Check][])[] = [
  // PUT
  PUT_LAYOUT,
  // CLAIM
  [['queue', isKey], ['id', isKey], ['attempt', isCount]],
  // RELEASE
  [['queue', isKey], ['id', isKey], ['availableAt', isTime]],
  // REMOVE
  [['queue', isKey], ['id', isKey], ['kind', isRemovalCode]],
  // META
  [['key', isText], ['value', orNull(isText)]],
  // COUNTERS
  [['queue', isKey], ['sent', isCount], ['delivered', isCount], ['acked', isCount], ['retried', isCount], ['deadLettered', isCount], ['expired', isCount]],
  // DEDUPE
  [['queue', isKey], ['dedupeId', isKey], ['id', isKey], ['until', isTime]],
  // END
  [],
  // SCHEDULE
  SCHEDULE_LAYOUT,
  // UNSCHEDULE
  [['queue', isKey], ['id', isKey]],
  // SEALED_PUT: a PUT whose body (required) is the codec output, base64
  PUT_LAYOUT,
  // SEALED_SCHEDULE
  SCHEDULE_LAYOUT,
];

/**
 * What is wrong with a decoded record, or `undefined` when every field has the
 * type and range the writer gives it. Replay applies no record this refuses.
 */
export function recordProblem(record: unknown): string | undefined {
  if (!Array.isArray(record)) return 'a record that is not an array';
  const type: unknown = record[0];
  const layout = Number.isInteger(type) ? LAYOUTS[type as number] : undefined;
  if (!layout) return `a record of unknown type ${describe(type)}`;
  // PUT and SCHEDULE may carry one more element, the body; a body of `undefined` is left out.
  // Their sealed types always carry it, as a base64 string.
  const sealed = type === 10 || type === 11;
  const most = type === 0 || type === 8 || sealed ? layout.length + 2 : layout.length + 1;
  if ((record.length !== layout.length + 1 || sealed) && record.length !== most) {
    return `a record of type ${type as number} with ${record.length} elements`;
  }
  // Any string: one that is not base64 of codec output is refused by the codec, message by message, not by open.
  if (sealed && !isKey(record[record.length - 1])) return `a record of type ${type as number} whose body is not a non-empty string`;
  for (let i = 0; i < layout.length; i++) {
    const [field, check] = layout[i]!;
    if (!check(record[i + 1])) return `a record of type ${type as number} whose \`${field}\` is ${describe(record[i + 1])}`;
  }
  // A PUT's dedupe entry needs the dedupeId it is for.
  if ((type === 0 || type === 10) && record[8] !== null && record[7] === null) return 'a record of type 0 with a `dedupeUntil` but no `dedupeId`';
  // A schedule ticks by an interval or by a cron expression: exactly one of them.
  if ((type === 8 || type === 11) && (record[3] === null) === (record[4] === null)) return 'a record of type 8 without exactly one of `every` and `cron`';
  return undefined;
}
