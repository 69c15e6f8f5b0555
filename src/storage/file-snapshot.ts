/**
 * FileStorage's records: what the engine's journal turns into log records, how
 * records fold back into an engine state on open, and how a snapshot of the whole
 * state is written. See docs/file-format.md for the record layouts.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { encodeBody } from '../codec.js';
import type { EngineJournal, EngineRestorer, EngineState, RemovalKind } from '../engine/persistence.js';
import type { StoredMessage } from './storage.js';
import {
  headersField,
  isCount,
  isKey,
  isPriority,
  isTime,
  numberField,
  optionalNumberField,
  optionalStringField,
  recordProblem,
  stringField,
  UnencodableFieldError,
} from './file-record-fields.js';
import { encodeFrame, type FileIo, FRAME_HEADER_SIZE, fsyncDir, sealFrame, SNAPSHOT_HEADER, writeFully } from './file-log.js';

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

/**
 * The text of a PUT record; `queueText` is the queue name as JSON, `bodyText` the codec's
 * encoding ('' for `undefined`, left out). Throws {@link UnencodableFieldError} for a
 * field replay would refuse.
 */
function putRecord(queueText: string, m: StoredMessage, dedupeUntil: number | undefined, bodyText: string): string {
  const body = bodyText === '' ? '' : `,${bodyText}`;
  if (dedupeUntil !== undefined && m.dedupeId === undefined) throw new UnencodableFieldError('dedupeId', 'a non-empty string when dedupeUntil is set', undefined);
  return `[0,${queueText},${stringField('id', m.id, isKey)},${numberField('priority', m.priority, isPriority)},${numberField('enqueuedAt', m.enqueuedAt, isTime)},${numberField('availableAt', m.availableAt, isTime)},${optionalNumberField('expiresAt', m.expiresAt, isTime)},${m.dedupeId === undefined ? 'null' : stringField('dedupeId', m.dedupeId, isKey)},${optionalNumberField('dedupeUntil', dedupeUntil, isTime)},${optionalStringField('group', m.group)},${optionalStringField('correlationId', m.correlationId)},${optionalStringField('subject', m.subject)},${headersField('headers', m.headers)},${numberField('attempt', m.attempt, isCount)}${body}]`;
}

/** The encoded bodies of one operation: one body and its text, or a map of several. */
export type EncodedBodies = { readonly body: unknown; readonly text: string } | Map<unknown, string>;

/** Matches no queue name, so the first record's name is always checked and quoted. */
const NO_QUEUE = Symbol('no queue');

/** Room before the first record for the frame header and the batch's `[lastToken,` (up to 20 digits). */
const BATCH_HEAD = FRAME_HEADER_SIZE + 24;
/** A batch buffer that grew past this is let go after its write, not kept for the next batch. */
const KEEP_BATCH_BYTES = 1 << 20;

/**
 * The engine's journal in a FileStorage: turns every change into a record and
 * writes it at once into the pending batch's buffer, which becomes one frame.
 * Writing each record into one buffer as it is made (instead of keeping a string
 * per record and joining them at the flush) leaves the garbage collector nothing
 * per message to carry from one batch to the next.
 */
export class RecordJournal implements EngineJournal {
  /** Bodies the current operation already encoded (validated before the engine ran), by value. */
  bodies: EncodedBodies | undefined = undefined;
  /** Set when a body could not be encoded inside an operation: the storage must stop. */
  failure: Error | undefined = undefined;
  /** Messages stored and not yet removed, and the bytes their PUT records took: the live-data estimate for compaction. */
  live = 0;
  putBytes = 0;
  puts = 0;
  /** Records in the pending batch. */
  count = 0;
  #buffer = Buffer.allocUnsafe(64 * 1024);
  /** Where the next record goes in {@link RecordJournal.#buffer}. */
  #end = BATCH_HEAD;
  /** The last queue name and its JSON text: most records in a row name the same queue. */
  #queue: unknown = NO_QUEUE;
  #queueText = '';

  inserted(queue: string, message: StoredMessage, dedupeUntil: number | undefined): void {
    const bodies = this.bodies;
    let text = bodies === undefined ? undefined : bodies instanceof Map ? bodies.get(message.body) : bodies.body === message.body ? bodies.text : undefined;
    if (text === undefined) {
      try {
        text = encodeBody(message.body);
      } catch (error) {
        // Only a body mutated after it was sent gets here (a dead-letter copy of it).
        this.failure ??= error as Error;
        text = '';
      }
    }
    let record: string;
    try {
      record = putRecord(this.#quoted(queue), message, dedupeUntil, text);
    } catch (error) {
      this.#refuse(error);
      return;
    }
    const bytes = this.#add(record);
    this.live++;
    this.puts++;
    this.putBytes += bytes;
  }

  claimed(queue: string, message: StoredMessage): void {
    try {
      this.#add(`[1,${this.#quoted(queue)},${stringField('id', message.id, isKey)},${numberField('attempt', message.attempt, isCount)}]`);
    } catch (error) {
      this.#refuse(error);
    }
  }

  released(queue: string, message: StoredMessage): void {
    try {
      this.#add(`[2,${this.#quoted(queue)},${stringField('id', message.id, isKey)},${numberField('availableAt', message.availableAt, isTime)}]`);
    } catch (error) {
      this.#refuse(error);
    }
  }

  removed(queue: string, id: string, kind: RemovalKind): void {
    try {
      this.#add(`[3,${this.#quoted(queue)},${stringField('id', id, isKey)},${REMOVAL_CODES[kind]}]`);
      this.live--;
    } catch (error) {
      this.#refuse(error);
    }
  }

  forgotten(queue: string): void {
    // Zeroed counters after its earlier records: replay then drops the queue as never used.
    this.#add(`[5,${this.#quoted(queue)},0,0,0,0,0,0]`);
  }

  /**
   * The pending batch as one frame, and the journal emptied. The frame is a view of
   * the journal's buffer: write it before the next record is added.
   */
  take(lastToken: number): Buffer {
    const head = `[${numberField('lastToken', lastToken, isCount)},`;
    const buffer = this.#buffer;
    const end = this.#end;
    buffer[end - 1] = 0x5d; // the comma after the last record becomes the closing ']'
    const payloadStart = BATCH_HEAD - head.length;
    buffer.write(head, payloadStart, 'latin1');
    const frame = sealFrame(buffer, payloadStart - FRAME_HEADER_SIZE, end);
    this.clear();
    if (buffer.length > KEEP_BATCH_BYTES) this.#buffer = Buffer.allocUnsafe(64 * 1024);
    return frame;
  }

  /** Drops the pending batch (after a failure, or when a snapshot holds its records). */
  clear(): void {
    this.count = 0;
    this.#end = BATCH_HEAD;
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

  #quoted(queue: string): string {
    if (queue !== this.#queue) {
      this.#queueText = stringField('queue', queue, isKey);
      this.#queue = queue;
    }
    return this.#queueText;
  }

  /**
   * A record replay would refuse is never written: the operation that made it already
   * changed the engine, so the storage stops (its batch is dropped, its operations reject).
   */
  #refuse(error: unknown): void {
    this.failure ??= error as Error;
  }

  /** Appends one record and its comma; returns its size in bytes. */
  #add(record: string): number {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const most = record.length * 3 + 1;
    if (this.#end + most > this.#buffer.length) this.#grow(this.#end + most);
    const bytes = this.#buffer.write(record, this.#end);
    this.#buffer[this.#end + bytes] = 0x2c;
    this.#end += bytes + 1;
    this.count++;
    return bytes;
  }

  #grow(needed: number): void {
    const bigger = Buffer.allocUnsafe(Math.max(needed, this.#buffer.length * 2));
    this.#buffer.copy(bigger, 0, 0, this.#end);
    this.#buffer = bigger;
  }
}

/** The payload of one batch frame: the lease-token counter after it, then its records. */
export function batchPayload(lastToken: number, records: readonly string[]): string {
  const head = numberField('lastToken', lastToken, isCount);
  return records.length === 0 ? `[${head}]` : `[${head},${records.join(',')}]`;
}

/** A payload a checksum passed but that is not a batch the writer makes; its message completes "the batch …". */
export class BadPayloadError extends Error {}

/**
 * Replays records into an engine being rebuilt: the messages still live with their
 * attempts and due times, dedupe records and counters. Replaying a record is
 * setting a value, so the order of ties inside the engine never matters.
 */
export class Fold {
  readonly #restorer: EngineRestorer;
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

  constructor(restorer: EngineRestorer) {
    this.#restorer = restorer;
  }

  /** Applies one batch payload. Throws {@link BadPayloadError} when it is not one. */
  apply(payload: Buffer): void {
    let batch: unknown;
    try {
      batch = JSON.parse(payload.toString('utf8'));
    } catch {
      throw new BadPayloadError('is not JSON');
    }
    if (!Array.isArray(batch) || !isCount(batch[0])) throw new BadPayloadError('does not start with its lease-token count');
    // Every field is checked before any record is applied: a batch is replayed whole or
    // not at all, and a field of the wrong type never becomes state a later write logs.
    for (let i = 1; i < batch.length; i++) {
      const problem = recordProblem(batch[i]);
      if (problem !== undefined) throw new BadPayloadError(`its record ${i} is ${problem}`);
    }
    this.#restorer.lastToken(batch[0]);
    for (let i = 1; i < batch.length; i++) this.#record(batch[i]);
    this.records += batch.length - 1;
  }

  #record(r: unknown): void {
    if (!Array.isArray(r)) throw new BadPayloadError('holds a record that is not an array');
    const restorer = this.#restorer;
    switch (r[0]) {
      case PUT: {
        const m = this.#message;
        m.id = r[2];
        m.body = r[14];
        m.headers = r[12] ?? undefined;
        m.priority = r[3];
        m.enqueuedAt = r[4];
        m.availableAt = r[5];
        m.expiresAt = r[6] ?? undefined;
        m.dedupeId = r[7] ?? undefined;
        m.group = r[9] ?? undefined;
        m.correlationId = r[10] ?? undefined;
        m.subject = r[11] ?? undefined;
        m.attempt = r[13];
        restorer.put(r[1], m);
        restorer.counters(r[1]).sent++;
        if (r[8] !== null) restorer.dedupe(r[1], r[7], r[2], r[8]);
        break;
      }
      case CLAIM:
        restorer.claimed(r[1], r[2], r[3]);
        restorer.counters(r[1]).delivered++;
        break;
      case RELEASE:
        restorer.released(r[1], r[2], r[3]);
        restorer.counters(r[1]).retried++;
        break;
      case REMOVE: {
        restorer.removed(r[1], r[2]);
        const kind = REMOVAL_KINDS[r[3]];
        if (kind === 'acked') restorer.counters(r[1]).acked++;
        else if (kind === 'dead') restorer.counters(r[1]).deadLettered++;
        else if (kind === 'expired') restorer.counters(r[1]).expired++;
        break;
      }
      case META:
        // Written by versions whose Storage had putMeta; nothing reads them any more.
        break;
      case COUNTERS:
        Object.assign(restorer.counters(r[1]), { sent: r[2], delivered: r[3], acked: r[4], retried: r[5], deadLettered: r[6], expired: r[7] });
        break;
      case DEDUPE:
        restorer.dedupe(r[1], r[2], r[3], r[4]);
        break;
      case END:
        this.ended = true;
        break;
      default:
        throw new BadPayloadError(`holds a record of unknown type ${String(r[0])}`);
    }
  }
}

const COUNTER_FIELDS = ['sent', 'delivered', 'acked', 'retried', 'deadLettered', 'expired'];

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
  for (const q of state.queues) {
    const queueText = stringField('queue', q.name, isKey);
    for (const m of q.messages) add(putRecord(queueText, m, undefined, encodeBody(m.body)));
    for (const [key, id, until] of q.dedupe) add(`[6,${queueText},${stringField('dedupeId', key, isKey)},${stringField('id', id, isKey)},${numberField('until', until, isTime)}]`);
    const c = q.counters;
    const counts = [c.sent, c.delivered, c.acked, c.retried, c.deadLettered, c.expired].map((n, i) => numberField(COUNTER_FIELDS[i]!, n, isCount));
    add(`[5,${queueText},${counts.join(',')}]`);
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
    writeFully(io, fd, SNAPSHOT_HEADER, 0);
    size = SNAPSHOT_HEADER.length;
    for (const frame of frames) {
      writeFully(io, fd, frame, size);
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
