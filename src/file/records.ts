/**
 * The text of each log record, written straight as JSON rather than built as an
 * array and stringified. Layouts: docs/file-format.md; what each field may hold:
 * record-fields.ts. Inside the templates the type code is written as a digit.
 */
import type { QueueCounters, RemovalKind } from '../engine/persistence.js';
import type { EnqueuePolicy, StoredMessage, StoredSchedule } from '../storage/storage.js';
import {
  headersField,
  isCount,
  isEvery,
  isKey,
  isPlainObject,
  isPolicy,
  isPriority,
  isTime,
  numberField,
  optionalNumberField,
  optionalStringField,
  stringField,
  UnencodableFieldError,
  type RecordCheck,
} from './record-fields.js';

/** Record types: the first element of every record array. */
export const PUT = 0;
export const CLAIM = 1;
export const RELEASE = 2;
export const REMOVE = 3;
export const META = 4;
export const COUNTERS = 5;
export const DEDUPE = 6;
/** Last record of a snapshot: without it the snapshot is incomplete. */
export const END = 7;
/** A schedule's whole state (stored, replaced, or advanced by a tick). */
export const SCHEDULE = 8;
/** A schedule removed. */
export const UNSCHEDULE = 9;
/** A PUT whose body is the storage's codec output, as a base64 string (`options.codec`). */
export const SEALED_PUT = 10;
/** A SCHEDULE whose body is the storage's codec output, as a base64 string. */
export const SEALED_SCHEDULE = 11;

/** REMOVE's `kind` field, by its code. */
export const REMOVAL_KINDS: readonly RemovalKind[] = ['acked', 'dead', 'expired', 'purged'];
const REMOVAL_CODES: Record<RemovalKind, number> = { acked: 0, dead: 1, expired: 2, purged: 3 };

/**
 * The text of a PUT record (a SEALED_PUT when `sealed`); `queueText` is the queue name as
 * JSON, `bodyText` the body's element ('' for `undefined`, left out: see record-bodies.ts).
 * Throws {@link UnencodableFieldError} for a field replay would refuse.
 */
export function putRecord(queueText: string, m: StoredMessage, dedupeUntil: number | undefined, bodyText: string, sealed = false): string {
  const body = bodyText === '' ? '' : `,${bodyText}`;
  if (dedupeUntil !== undefined && m.dedupeId === undefined) throw new UnencodableFieldError('dedupeId', 'a non-empty string when dedupeUntil is set', undefined);
  return `[${sealed ? 10 : 0},${queueText},${stringField('id', m.id, isKey)},${numberField('priority', m.priority, isPriority)},${numberField('enqueuedAt', m.enqueuedAt, isTime)},${numberField('availableAt', m.availableAt, isTime)},${optionalNumberField('expiresAt', m.expiresAt, isTime)},${m.dedupeId === undefined ? 'null' : stringField('dedupeId', m.dedupeId, isKey)},${optionalNumberField('dedupeUntil', dedupeUntil, isTime)},${optionalStringField('group', m.group)},${optionalStringField('correlationId', m.correlationId)},${optionalStringField('subject', m.subject)},${headersField('headers', m.headers)},${numberField('attempt', m.attempt, isCount)}${body}]`;
}

export function claimRecord(queueText: string, message: StoredMessage): string {
  return `[1,${queueText},${stringField('id', message.id, isKey)},${numberField('attempt', message.attempt, isCount)}]`;
}

export function releaseRecord(queueText: string, message: StoredMessage): string {
  return `[2,${queueText},${stringField('id', message.id, isKey)},${numberField('availableAt', message.availableAt, isTime)}]`;
}

export function removeRecord(queueText: string, id: string, kind: RemovalKind): string {
  return `[3,${queueText},${stringField('id', id, isKey)},${REMOVAL_CODES[kind]}]`;
}

const COUNTER_FIELDS = ['sent', 'delivered', 'acked', 'retried', 'deadLettered', 'expired'];

export function countersRecord(queueText: string, c: QueueCounters): string {
  const counts = [c.sent, c.delivered, c.acked, c.retried, c.deadLettered, c.expired].map((n, i) => numberField(COUNTER_FIELDS[i]!, n, isCount));
  return `[5,${queueText},${counts.join(',')}]`;
}

/** All counters 0 after a queue's earlier records: replay then drops the queue as never used. */
export function forgottenRecord(queueText: string): string {
  return `[5,${queueText},0,0,0,0,0,0]`;
}

export function dedupeRecord(queueText: string, dedupeId: string, id: string, until: number): string {
  return `[6,${queueText},${stringField('dedupeId', dedupeId, isKey)},${stringField('id', id, isKey)},${numberField('until', until, isTime)}]`;
}

/** `value` as JSON record text, or an {@link UnencodableFieldError} naming `field`. */
function jsonField(field: string, value: unknown, check: RecordCheck, what: string): string {
  if (check(value)) return JSON.stringify(value);
  throw new UnencodableFieldError(field, what, value);
}

/** The text of a SCHEDULE record (a SEALED_SCHEDULE when `sealed`); `bodyText` is its body's element ('' for `undefined`, left out). */
export function scheduleRecord(queueText: string, s: StoredSchedule, bodyText: string, sealed = false): string {
  const body = bodyText === '' ? '' : `,${bodyText}`;
  const policy = policyFields(s.policy);
  return `[${sealed ? 11 : 8},${queueText},${stringField('id', s.id, isKey)},${s.every === undefined ? 'null' : numberField('every', s.every, isEvery)},${optionalStringField('cron', s.cron)},${optionalStringField('tz', s.tz)},${numberField('next', s.next, isTime)},${optionalNumberField('last', s.last, isTime)},${numberField('count', s.count, isCount)},${jsonField('options', s.options, isPlainObject, 'a JSON object')},${jsonField('policy', policy, isPolicy, 'an enqueue policy')}${body}]`;
}

/** A policy as the record holds it: `maxLength` null when unbounded. */
function policyFields(p: EnqueuePolicy): Record<string, unknown> {
  return { maxLength: p.maxLength ?? null, overflow: p.overflow, deadLetter: p.deadLetter, dedupeWindow: p.dedupeWindow };
}

/** The policy of a replayed SCHEDULE record (checked by `recordProblem`). */
export function policyOf(fields: Record<string, unknown>): EnqueuePolicy {
  return {
    maxLength: (fields.maxLength as number | null) ?? undefined,
    overflow: fields.overflow as EnqueuePolicy['overflow'],
    deadLetter: fields.deadLetter as string | false,
    dedupeWindow: fields.dedupeWindow as number,
  };
}

export function unscheduleRecord(queueText: string, id: string): string {
  return `[9,${queueText},${stringField('id', id, isKey)}]`;
}

export const END_RECORD = '[7]';

/** The payload of one batch frame: the lease-token counter after it, then its records. */
export function batchPayload(lastToken: number, records: readonly string[]): string {
  const head = numberField('lastToken', lastToken, isCount);
  return records.length === 0 ? `[${head}]` : `[${head},${records.join(',')}]`;
}
