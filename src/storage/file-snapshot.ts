/**
 * FileStorage's records: what the engine's journal turns into log records, how
 * records fold back into an engine state on open, and how a snapshot of the whole
 * state is written. See docs/file-format.md for the record layouts.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { decodeBody, encodeBody } from '../codec.js';
import type { EngineJournal, EngineRestorer, EngineState, RemovalKind } from '../engine/engine.js';
import type { StoredMessage } from './storage.js';
import { encodeFrame, type FileIo, fsyncDir, SNAPSHOT_HEADER, writeFully } from './file-log.js';

/** Record types: the first element of every record array. */
const PUT = 0;
const CLAIM = 1;
const RELEASE = 2;
const REMOVE = 3;
const META = 4;
const COUNTERS = 5;
const DEDUPE = 6;
/** Last record of a snapshot: without it the snapshot is incomplete. */
const END = 7;

const REMOVAL_KINDS: readonly RemovalKind[] = ['acked', 'dead', 'expired', 'purged'];
const REMOVAL_CODES: Record<RemovalKind, number> = { acked: 0, dead: 1, expired: 2, purged: 3 };

const s = JSON.stringify;

function str(value: string | undefined): string {
  return value === undefined ? 'null' : s(value);
}

function num(value: number | undefined): string {
  return value === undefined ? 'null' : String(value);
}

/**
 * A body replayed from the log and not decoded yet: its JSON text. Open keeps the
 * text instead of parsing a million bodies no one has asked for; FileStorage decodes
 * it (once, in place) when the message first leaves the storage, and writes the text
 * back as it is into a snapshot or a dead-letter copy's record.
 */
export class RawBody {
  constructor(readonly text: string) {}
}

/** The codec's encoding of a body, reusing the text of a body not decoded yet. */
function encodeStoredBody(body: unknown): string {
  return body instanceof RawBody ? body.text : encodeBody(body);
}

/**
 * Decodes a replayed body in place the first time its message leaves the storage,
 * so every reader sees the decoded value and decoding happens once. The entry's
 * `body` is readonly to the engine's users, not to the storage that set it.
 */
export function decodeStored<M extends StoredMessage>(message: M): M {
  const body = message.body;
  if (body instanceof RawBody) (message as { body: unknown }).body = decodeBody(body.text);
  return message;
}

/** The text of a PUT record; `bodyText` is the codec's encoding ('' for `undefined`, left out). */
function putRecord(queue: string, m: StoredMessage, dedupeUntil: number | undefined, bodyText: string): string {
  const headers = m.headers === undefined ? 'null' : s(m.headers);
  const body = bodyText === '' ? '' : `,${bodyText}`;
  return `[0,${s(queue)},${s(m.id)},${m.priority},${m.enqueuedAt},${m.availableAt},${num(m.expiresAt)},${str(m.dedupeId)},${num(dedupeUntil)},${str(m.group)},${str(m.correlationId)},${str(m.subject)},${headers},${m.attempt}${body}]`;
}

/**
 * The engine's journal in a FileStorage: turns every change into a record text and
 * keeps it until the storage takes it for the next batch.
 */
export class RecordJournal implements EngineJournal {
  records: string[] = [];
  /** Bodies the current operation already encoded (validated before the engine ran), by value. */
  bodies: Map<unknown, string> | undefined = undefined;
  /** Set when a body could not be encoded inside an operation: the storage must stop. */
  failure: Error | undefined = undefined;
  /** Messages stored and not yet removed, and the bytes their PUT records took: the live-data estimate for compaction. */
  live = 0;
  putBytes = 0;
  puts = 0;

  inserted(queue: string, message: StoredMessage, dedupeUntil: number | undefined): void {
    let text = this.bodies?.get(message.body);
    if (text === undefined) {
      try {
        text = encodeStoredBody(message.body);
      } catch (error) {
        // Only a body mutated after it was sent gets here (a dead-letter copy of it).
        this.failure ??= error as Error;
        text = '';
      }
    }
    const record = putRecord(queue, message, dedupeUntil, text);
    this.records.push(record);
    this.live++;
    this.puts++;
    this.putBytes += record.length;
  }

  claimed(queue: string, message: StoredMessage): void {
    this.records.push(`[1,${s(queue)},${s(message.id)},${message.attempt}]`);
  }

  released(queue: string, message: StoredMessage): void {
    this.records.push(`[2,${s(queue)},${s(message.id)},${message.availableAt}]`);
  }

  removed(queue: string, id: string, kind: RemovalKind): void {
    this.records.push(`[3,${s(queue)},${s(id)},${REMOVAL_CODES[kind]}]`);
    this.live--;
  }

  metaChanged(key: string, value: string | undefined): void {
    this.records.push(`[4,${s(key)},${str(value)}]`);
  }

  /** Sets the live-data estimate from what open or a compaction measured. */
  calibrate(live: number, bytes: number): void {
    this.live = live;
    this.puts = live;
    this.putBytes = bytes;
  }

  /** Bytes a live message's PUT record takes on average: what a snapshot will cost per message. */
  averagePutBytes(): number {
    return this.puts === 0 ? 0 : this.putBytes / this.puts;
  }
}

/** The payload of one batch frame: the lease-token counter after it, then its records. */
export function batchPayload(lastToken: number, records: readonly string[]): string {
  return records.length === 0 ? `[${lastToken}]` : `[${lastToken},${records.join(',')}]`;
}

/** A payload a checksum passed but that is not a batch: only a bug writes one, so it is damage too. */
export class BadPayloadError extends Error {}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * Reads a batch payload field by field. The writer's JSON is compact and every
 * record's fields are fixed, so replay reads them in place instead of building an
 * array per record, and keeps each body as its text ({@link RawBody}). Anything it
 * does not expect is a {@link BadPayloadError}: a checksummed payload only differs
 * from what the writer wrote when a bug wrote it.
 */
class PayloadReader {
  text = '';
  at = 0;
  #backslash = -1;

  reset(text: string): void {
    this.text = text;
    this.at = 0;
    this.#backslash = -1;
  }

  fail(): never {
    throw new BadPayloadError(`a batch that is not JSON as FileStorage writes it (character ${this.at})`);
  }

  expect(code: number): void {
    if (this.text.charCodeAt(this.at) !== code) this.fail();
    this.at++;
  }

  take(code: number): boolean {
    if (this.text.charCodeAt(this.at) !== code) return false;
    this.at++;
    return true;
  }

  #null(): boolean {
    if (!this.text.startsWith('null', this.at)) return false;
    this.at += 4;
    return true;
  }

  number(): number {
    const text = this.text;
    const start = this.at;
    let at = start;
    const negative = text.charCodeAt(at) === MINUS;
    if (negative) at++;
    let value = 0;
    let digits = 0;
    for (let c = text.charCodeAt(at); c >= ZERO && c <= NINE; c = text.charCodeAt(++at)) {
      value = value * 10 + (c - ZERO);
      digits++;
    }
    const next = text.charCodeAt(at);
    // Fractions, exponents and digit runs past exact integer arithmetic: the standard parser reads those.
    if (digits === 0 || digits > 15 || next === 0x2e || next === 0x65 || next === 0x45) {
      while (at < text.length && '0123456789+-.eE'.includes(text[at]!)) at++;
      let parsed: unknown;
      try {
        parsed = JSON.parse(text.slice(start, at));
      } catch {
        this.fail();
      }
      if (typeof parsed !== 'number') this.fail();
      this.at = at;
      return parsed;
    }
    this.at = at;
    return negative ? -value : value;
  }

  numberOrNull(): number | undefined {
    return this.#null() ? undefined : this.number();
  }

  string(): string {
    const text = this.text;
    this.expect(QUOTE);
    const start = this.at;
    const end = text.indexOf('"', start);
    if (end < 0) this.fail();
    if (this.#backslashAt(start) > end) {
      this.at = end + 1;
      return text.slice(start, end);
    }
    // Escapes are rare (quotes, control characters): find the end, let JSON.parse unescape.
    this.at = start - 1;
    return JSON.parse(text.slice(start - 1, this.#skipValue())) as string;
  }

  /** The first backslash at or after `from` (past the end when none): found once per stretch, not per string. */
  #backslashAt(from: number): number {
    if (this.#backslash < from) {
      const at = this.text.indexOf('\\', from);
      this.#backslash = at < 0 ? Infinity : at;
    }
    return this.#backslash;
  }

  stringOrNull(): string | undefined {
    return this.#null() ? undefined : this.string();
  }

  /** The text of the next value, whatever it is, moving past it. */
  raw(): string {
    const start = this.at;
    return this.text.slice(start, this.#skipValue());
  }

  /** A JSON object or null, parsed by JSON.parse (a `"__proto__"` key stays an own property). */
  objectOrNull(): Record<string, string> | undefined {
    if (this.#null()) return undefined;
    if (this.text.charCodeAt(this.at) !== OPEN_OBJECT) this.fail();
    const raw = this.raw();
    try {
      return JSON.parse(raw) as Record<string, string>;
    } catch {
      return this.fail();
    }
  }

  /** The offset just past the closing quote of a string whose text starts at `from` (past the end when unclosed). */
  #stringEnd(from: number): number {
    const text = this.text;
    const quote = text.indexOf('"', from);
    if (quote < 0) return text.length + 1;
    if (this.#backslashAt(from) > quote) return quote + 1;
    // An escape before the quote: step over escapes one by one up to the real closing quote.
    for (let at = from; at < text.length; at++) {
      const c = text.charCodeAt(at);
      if (c === BACKSLASH) at++;
      else if (c === QUOTE) return at + 1;
    }
    return text.length + 1;
  }

  /** Moves past one value and returns where it ends; strings are skipped with their escapes. */
  #skipValue(): number {
    const text = this.text;
    let at = this.at;
    let depth = 0;
    while (at < text.length) {
      const c = text.charCodeAt(at);
      if (c === QUOTE) {
        at = this.#stringEnd(at + 1);
        if (depth === 0) break;
      } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
        depth++;
        at++;
      } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
        if (depth === 0) break;
        at++;
        if (--depth === 0) break;
      } else if (c === COMMA && depth === 0) {
        break;
      } else {
        at++;
      }
    }
    if (at > text.length || at === this.at || depth !== 0) this.fail();
    this.at = at;
    return at;
  }
}

/**
 * Replays records into an engine being rebuilt: the messages still live with their
 * attempts and due times, dedupe records, counters and meta. Replaying a record is
 * setting a value, so the order of ties inside the engine never matters.
 */
export class Fold {
  readonly #restorer: EngineRestorer;
  readonly #reader = new PayloadReader();
  /** One object for every PUT: the restorer copies it at once. */
  readonly #message = {
    id: '',
    body: undefined as unknown,
    headers: undefined as Record<string, string> | undefined,
    priority: 0,
    enqueuedAt: 0,
    availableAt: 0,
    expiresAt: undefined as number | undefined,
    dedupeId: undefined as string | undefined,
    group: undefined as string | undefined,
    correlationId: undefined as string | undefined,
    subject: undefined as string | undefined,
    attempt: 0,
  };
  /** Set by a snapshot's END record. */
  ended = false;
  /** Records applied. */
  records = 0;
  /**
   * Set when a batch turned out bad after some of its records were applied: the
   * engine then holds part of a batch, so the replay must start over without it.
   */
  partial = false;

  constructor(restorer: EngineRestorer) {
    this.#restorer = restorer;
  }

  /** Applies one batch payload. Throws {@link BadPayloadError} when it is not one. */
  apply(payload: Buffer): void {
    const reader = this.#reader;
    reader.reset(payload.toString('utf8'));
    let applied = 0;
    try {
      reader.expect(OPEN_ARRAY);
      this.#restorer.lastToken(reader.number());
      while (reader.take(COMMA)) {
        this.#record(reader);
        applied++;
      }
      reader.expect(CLOSE_ARRAY);
      if (reader.at !== reader.text.length) reader.fail();
    } catch (error) {
      if (applied > 0) this.partial = true;
      if (error instanceof BadPayloadError) throw error;
      throw new BadPayloadError(`a batch that is not JSON as FileStorage writes it: ${(error as Error).message}`);
    } finally {
      this.records += applied;
      reader.reset('');
    }
  }

  #record(r: PayloadReader): void {
    const restorer = this.#restorer;
    r.expect(OPEN_ARRAY);
    const type = r.number();
    if (type === END) {
      this.ended = true;
      r.expect(CLOSE_ARRAY);
      return;
    }
    r.expect(COMMA);
    switch (type) {
      case PUT: {
        const m = this.#message;
        const queue = r.string();
        r.expect(COMMA);
        m.id = r.string();
        r.expect(COMMA);
        m.priority = r.number();
        r.expect(COMMA);
        m.enqueuedAt = r.number();
        r.expect(COMMA);
        m.availableAt = r.number();
        r.expect(COMMA);
        m.expiresAt = r.numberOrNull();
        r.expect(COMMA);
        m.dedupeId = r.stringOrNull();
        r.expect(COMMA);
        const dedupeUntil = r.numberOrNull();
        r.expect(COMMA);
        m.group = r.stringOrNull();
        r.expect(COMMA);
        m.correlationId = r.stringOrNull();
        r.expect(COMMA);
        m.subject = r.stringOrNull();
        r.expect(COMMA);
        m.headers = r.objectOrNull();
        r.expect(COMMA);
        m.attempt = r.number();
        m.body = r.take(COMMA) ? new RawBody(r.raw()) : undefined;
        restorer.put(queue, m);
        restorer.counters(queue).sent++;
        if (dedupeUntil !== undefined && m.dedupeId !== undefined) restorer.dedupe(queue, m.dedupeId, m.id, dedupeUntil);
        break;
      }
      case CLAIM: {
        const queue = r.string();
        r.expect(COMMA);
        const id = r.string();
        r.expect(COMMA);
        restorer.claimed(queue, id, r.number());
        restorer.counters(queue).delivered++;
        break;
      }
      case RELEASE: {
        const queue = r.string();
        r.expect(COMMA);
        const id = r.string();
        r.expect(COMMA);
        restorer.released(queue, id, r.number());
        restorer.counters(queue).retried++;
        break;
      }
      case REMOVE: {
        const queue = r.string();
        r.expect(COMMA);
        restorer.removed(queue, r.string());
        r.expect(COMMA);
        const kind = REMOVAL_KINDS[r.number()];
        if (kind === 'acked') restorer.counters(queue).acked++;
        else if (kind === 'dead') restorer.counters(queue).deadLettered++;
        else if (kind === 'expired') restorer.counters(queue).expired++;
        break;
      }
      case META: {
        const key = r.string();
        r.expect(COMMA);
        restorer.meta(key, r.stringOrNull());
        break;
      }
      case COUNTERS: {
        const c = restorer.counters(r.string());
        r.expect(COMMA);
        c.sent = r.number();
        r.expect(COMMA);
        c.delivered = r.number();
        r.expect(COMMA);
        c.acked = r.number();
        r.expect(COMMA);
        c.retried = r.number();
        r.expect(COMMA);
        c.deadLettered = r.number();
        r.expect(COMMA);
        c.expired = r.number();
        break;
      }
      case DEDUPE: {
        const queue = r.string();
        r.expect(COMMA);
        const key = r.string();
        r.expect(COMMA);
        const id = r.string();
        r.expect(COMMA);
        restorer.dedupe(queue, key, id, r.number());
        break;
      }
      default:
        throw new BadPayloadError(`a record of unknown type ${String(type)}`);
    }
    r.expect(CLOSE_ARRAY);
  }
}

/** Records per snapshot frame: big enough that open parses few frames, small enough to write in steps. */
const SNAPSHOT_FRAME_RECORDS = 4096;

/** The frames of a snapshot of `state`, as one buffer per frame, the END record last. */
export function encodeSnapshot(state: EngineState): Buffer[] {
  const frames: Buffer[] = [];
  let records: string[] = [];
  const add = (record: string) => {
    records.push(record);
    if (records.length >= SNAPSHOT_FRAME_RECORDS) {
      frames.push(encodeFrame(batchPayload(state.lastToken, records)));
      records = [];
    }
  };
  for (const [key, value] of state.meta) add(`[4,${s(key)},${s(value)}]`);
  for (const q of state.queues) {
    for (const m of q.messages) add(putRecord(q.name, m, undefined, encodeStoredBody(m.body)));
    for (const [key, id, until] of q.dedupe) add(`[6,${s(q.name)},${s(key)},${s(id)},${until}]`);
    const c = q.counters;
    add(`[5,${s(q.name)},${c.sent},${c.delivered},${c.acked},${c.retried},${c.deadLettered},${c.expired}]`);
  }
  records.push('[7]');
  frames.push(encodeFrame(batchPayload(state.lastToken, records)));
  return frames;
}

export function snapshotName(index: number): string {
  return `snapshot-${String(index).padStart(8, '0')}.pmq`;
}

export function segmentName(index: number): string {
  return `log-${String(index).padStart(8, '0')}.pmq`;
}

/**
 * Writes a snapshot crash-safely: a temp file, fsync, rename into place, fsync the
 * directory. A crash at any step leaves either no snapshot or the whole one.
 * Returns its size in bytes.
 */
export async function writeSnapshot(io: FileIo, dir: string, index: number, frames: readonly Buffer[]): Promise<number> {
  const final = join(dir, snapshotName(index));
  const temp = `${final}.tmp`;
  const fd = fs.openSync(temp, 'w', 0o600);
  let size = 0;
  try {
    await writeFully(io, fd, SNAPSHOT_HEADER, 0);
    size = SNAPSHOT_HEADER.length;
    for (const frame of frames) {
      await writeFully(io, fd, frame, size);
      size += frame.length;
    }
    await io.fsync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw error;
  }
  fs.closeSync(fd);
  fs.renameSync(temp, final);
  fsyncDir(dir);
  return size;
}
