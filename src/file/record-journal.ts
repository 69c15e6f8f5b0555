import { encodeBody } from '../codec.js';
import type { EngineJournal, RemovalKind } from '../engine/persistence.js';
import type { NewMessage, StoredMessage, StoredSchedule } from '../storage/storage.js';
import { FRAME_HEADER_SIZE, sealFrame } from './frame.js';
import { isCount, isKey, numberField, stringField } from './record-fields.js';
import { messageContext, PLAIN_BODIES, type RecordBodies, scheduleContext } from './record-bodies.js';
import { claimRecord, forgottenRecord, putRecord, releaseRecord, removeRecord, scheduleRecord, unscheduleRecord } from './records.js';

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
 * writes it at once into the pending batch's buffer, which becomes one frame, so
 * the garbage collector has nothing per message to carry from one batch to the next.
 */
export class RecordJournal implements EngineJournal {
  /** How bodies are written (through the storage's codecs, if any). */
  readonly #bodies: RecordBodies;
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

  constructor(bodies: RecordBodies = PLAIN_BODIES) {
    this.#bodies = bodies;
  }

  inserted(queue: string, message: StoredMessage, dedupeUntil: number | undefined): void {
    const bodies = this.bodies;
    const json = bodies === undefined ? undefined : bodies instanceof Map ? bodies.get(message.body) : bodies.body === message.body ? bodies.text : undefined;
    let text: string;
    try {
      text = this.#bodies.text(message.body, json, messageContext(message.id));
    } catch (error) {
      // A body mutated after it was sent (a dead-letter copy of it), or a codec that failed.
      this.failure ??= error as Error;
      text = '';
    }
    let record: string;
    try {
      record = putRecord(this.#quoted(queue), message, dedupeUntil, text, this.#bodies.sealed(message.body));
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
      this.#add(claimRecord(this.#quoted(queue), message));
    } catch (error) {
      this.#refuse(error);
    }
  }

  released(queue: string, message: StoredMessage): void {
    try {
      this.#add(releaseRecord(this.#quoted(queue), message));
    } catch (error) {
      this.#refuse(error);
    }
  }

  removed(queue: string, id: string, kind: RemovalKind): void {
    try {
      this.#add(removeRecord(this.#quoted(queue), id, kind));
      this.live--;
    } catch (error) {
      this.#refuse(error);
    }
  }

  forgotten(queue: string): void {
    this.#add(forgottenRecord(this.#quoted(queue)));
  }

  scheduled(queue: string, schedule: StoredSchedule): void {
    try {
      // Checked against the JSON rule by schedule() before it reached the engine.
      const text = this.#bodies.text(schedule.body, undefined, scheduleContext(queue, schedule.id));
      this.#add(scheduleRecord(this.#quoted(queue), schedule, text, this.#bodies.sealed(schedule.body)));
    } catch (error) {
      this.#refuse(error);
    }
  }

  unscheduled(queue: string, id: string): void {
    try {
      this.#add(unscheduleRecord(this.#quoted(queue), id));
    } catch (error) {
      this.#refuse(error);
    }
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

/** Encodes each body once, before the engine runs, so a body JSON cannot encode stores nothing. */
export function encodeBodies(items: readonly NewMessage[]): EncodedBodies {
  // Most operations send one message: no map for them.
  if (items.length === 1) return { body: items[0]!.body, text: encodeBody(items[0]!.body) };
  const bodies = new Map<unknown, string>();
  for (const item of items) if (!bodies.has(item.body)) bodies.set(item.body, encodeBody(item.body));
  return bodies;
}
