/**
 * How a message is kept in Redis and passed to and from the script, in one place.
 *
 * A message is two fields, under its id, of two per-queue hashes:
 * - `T:m`, its state: {@link STATE_FIELDS} joined by `|`. The script reads and rewrites
 *   it (`parse` and `stateString` in lua/lib/records.ts name the same fields in the same
 *   order, and a test checks them against this list). `group` comes last so that it may
 *   hold `|`; `expiresAt` and `group` are empty when absent.
 * - `T:b`, the rest: {@link RECORD_LINES}, one per line, the body from its line to the end.
 *   The script never decodes it; dead-lettering replaces its first three lines.
 */
import { type BodyLines, messageContext, PLAIN_LINES } from './body-lines.js';
import type { ClaimResult, DeadLettered, Delivery, NewMessage, StoredMessage } from '../storage/storage.js';

/** The fields of a `T:m` string, in order. */
export const STATE_FIELDS = ['state', 'attempt', 'token', 'availableAt', 'insertion', 'priority', 'expiresAt', 'group'] as const;

/** The position of each field of a `T:m` string. */
export const STATE = Object.freeze(Object.fromEntries(STATE_FIELDS.map((field, i) => [field, i]))) as { readonly [F in (typeof STATE_FIELDS)[number]]: number };

/** The lines of a `T:b` string, in order; the body runs from its line to the end. */
export const RECORD_LINES = ['enqueuedAt', 'headers', 'dedupeId', 'correlationId', 'subject', 'body'] as const;

/** Fields of a message record as the script returns it: id, `T:b` string, `T:m` string (see `record` in lua/lib/records.ts). */
export const RECORD_FIELDS = 3;

/** A script reply, or a part of one. */
export type Reply = unknown[];

/**
 * The `T:b` string of a message: {@link RECORD_LINES}, each of enqueuedAt's successors JSON
 * (so a line never holds a line break; empty when absent), the body JSON ('' for undefined).
 * An empty string counts as absent, as it always has.
 */
export function encodeRecord(item: NewMessage, lines: BodyLines = PLAIN_LINES, storedBody?: string): string {
  const body = storedBody ?? lines.text(item.body, messageContext(item.id));
  return `${item.enqueuedAt}\n${item.headers === undefined ? '' : JSON.stringify(item.headers)}\n${jsonLine(item.dedupeId)}\n${jsonLine(item.correlationId)}\n${jsonLine(item.subject)}\n${body}`;
}

function jsonLine(value: string | undefined): string {
  return value === undefined || value === '' ? '' : JSON.stringify(value);
}

/** A line of {@link encodeRecord} from `from` to `to`, parsed, or undefined when empty. */
function parseLine<T>(record: string, from: number, to: number): T | undefined {
  return to > from ? (JSON.parse(record.slice(from, to)) as T) : undefined;
}

/**
 * The record at index `at` of a reply: id, the string {@link encodeRecord} made (or a
 * dead-letter copy of it) and the `T:m` string. Returns the token too, for a delivery's receipt.
 */
export function decodeRecord(reply: Reply, at: number, lines: BodyLines = PLAIN_LINES): { message: StoredMessage; token: number } {
  const record = reply[at + 1] as string;
  const enqueuedAtEnd = record.indexOf('\n');
  const headersEnd = record.indexOf('\n', enqueuedAtEnd + 1);
  const dedupeIdEnd = record.indexOf('\n', headersEnd + 1);
  const correlationIdEnd = record.indexOf('\n', dedupeIdEnd + 1);
  const subjectEnd = record.indexOf('\n', correlationIdEnd + 1);
  const state = (reply[at + 2] as string).split('|');
  // The group comes last and may itself hold '|'.
  const group = state.length > STATE_FIELDS.length ? state.slice(STATE.group).join('|') : state[STATE.group]!;
  const expiresAt = state[STATE.expiresAt]!;
  const id = reply[at] as string;
  const storedBody = record.slice(subjectEnd + 1);
  const message: StoredMessage = {
    id,
    body: lines.read(storedBody, messageContext(id)),
    headers: parseLine<Record<string, string>>(record, enqueuedAtEnd + 1, headersEnd),
    priority: Number(state[STATE.priority]),
    enqueuedAt: Number(record.slice(0, enqueuedAtEnd)),
    availableAt: Number(state[STATE.availableAt]),
    expiresAt: expiresAt === '' ? undefined : Number(expiresAt),
    dedupeId: parseLine<string>(record, headersEnd + 1, dedupeIdEnd),
    group: group === '' ? undefined : group,
    correlationId: parseLine<string>(record, dedupeIdEnd + 1, correlationIdEnd),
    subject: parseLine<string>(record, correlationIdEnd + 1, subjectEnd),
    attempt: Number(state[STATE.attempt]),
  };
  return { message, token: Number(state[STATE.token]) };
}

/** Records one after another, as peek returns them. */
export function decodeRecords(reply: Reply, lines: BodyLines = PLAIN_LINES): StoredMessage[] {
  const out: StoredMessage[] = [];
  for (let i = 0; i < reply.length; i += RECORD_FIELDS) {
    const { message } = decodeRecord(reply, i, lines);
    // Listed messages may be redriven: their stored bodies move as they are (claims skip this).
    lines.remember(message, storedBodyOf(reply[i + 1] as string));
    out.push(message);
  }
  return out;
}

/** The body part of a `T:b` string: from the line after the subject's to the end. */
function storedBodyOf(record: string): string {
  let at = -1;
  for (let line = 0; line < RECORD_LINES.length - 1; line++) at = record.indexOf('\n', at + 1);
  return record.slice(at + 1);
}

/** A claim's payload (from index `at` of a reply): delivered records, then dead-lettered entries. */
export function decodeClaim(reply: Reply, at = 0, lines: BodyLines = PLAIN_LINES): ClaimResult {
  const leases = reply[at] as Reply;
  const delivered: Delivery[] = [];
  for (let i = 0; i < leases.length; i += RECORD_FIELDS) {
    const { message, token } = decodeRecord(leases, i, lines);
    delivered.push({ message, receipt: { id: message.id, token } });
  }
  return { delivered, deadLettered: decodeDeadLettered(reply[at + 1] as Reply, lines) };
}

/** Dead-lettered entries as the script lists them: reason, target (or null), record. */
export function decodeDeadLettered(reply: Reply, lines: BodyLines = PLAIN_LINES): DeadLettered[] {
  const out: DeadLettered[] = [];
  for (let i = 0; i < reply.length; i += 2 + RECORD_FIELDS) {
    out.push({ reason: reply[i] as string, target: (reply[i + 1] as string | null) ?? false, message: decodeRecord(reply, i + 2, lines).message });
  }
  return out;
}

/**
 * A list of items as the script reads it (readCount and readItem in lua/lib/item-list.ts):
 * the count, then each item: id, the record string, priority, availableAt, then how many
 * optional fields follow and each as its name and value, only what the script acts on
 * (expiresAt, dedupeId, group). When every item has priority 0, is available at `now` and
 * has none of those (a plain `send()`), the count is negative and each item is only its
 * id and record string: a third of the arguments to write, parse and copy.
 */
export function encodeItems(items: readonly NewMessage[], now: number, out: (string | number)[], lines: BodyLines = PLAIN_LINES): void {
  let plain = true;
  for (const item of items) {
    if (item.priority !== 0 || item.availableAt !== now || item.expiresAt !== undefined || item.dedupeId || item.group) {
      plain = false;
      break;
    }
  }
  out.push(plain ? -items.length : items.length);
  for (const item of items) {
    out.push(item.id, encodeRecord(item, lines));
    if (plain) continue;
    out.push(String(item.priority), String(item.availableAt), 0);
    const countAt = out.length - 1;
    out[countAt] =
      optionalField(out, 'expiresAt', item.expiresAt === undefined ? undefined : String(item.expiresAt)) +
      optionalField(out, 'dedupeId', item.dedupeId) +
      optionalField(out, 'group', item.group);
  }
}

/** Appends an optional field's name and value when it has one; returns how many fields it appended. */
function optionalField(out: (string | number)[], name: string, value: string | undefined): number {
  if (value === undefined || value === '') return 0;
  out.push(name, value);
  return 1;
}
