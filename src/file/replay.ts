/**
 * Replay: folds the batches read from a snapshot or segment back into an engine
 * being rebuilt. Which files are read and how damage is handled: recovery.ts.
 */
import type { EngineRestorer } from '../engine/persistence.js';
import { isCount, recordProblem } from './record-fields.js';
import { messageContext, PLAIN_BODIES, type RecordBodies, scheduleContext } from './record-bodies.js';
import { CLAIM, COUNTERS, DEDUPE, END, META, policyOf, PUT, RELEASE, REMOVAL_KINDS, REMOVE, SCHEDULE, SEALED_PUT, SEALED_SCHEDULE, UNSCHEDULE } from './records.js';

/** A payload a checksum passed but that is not a batch the writer makes; its message completes "the batch …". */
export class BadPayloadError extends Error {}

/**
 * Replays records into an engine being rebuilt: the messages still live with their
 * attempts and due times, dedupe records, counters and meta. Replaying a record is
 * setting a value, so the order of ties inside the engine never matters.
 */
export class Fold {
  readonly #restorer: EngineRestorer;
  readonly #bodies: RecordBodies;
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

  constructor(restorer: EngineRestorer, bodies: RecordBodies = PLAIN_BODIES) {
    this.#restorer = restorer;
    this.#bodies = bodies;
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
      case PUT:
      case SEALED_PUT: {
        const m = this.#message;
        m.id = r[2];
        m.body = this.#bodies.read(r[14], r.length > 14, r[0] === SEALED_PUT, messageContext(r[2]));
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
      case SCHEDULE:
      case SEALED_SCHEDULE:
        restorer.schedule(r[1], {
          id: r[2],
          every: r[3] ?? undefined,
          cron: r[4] ?? undefined,
          tz: r[5] ?? undefined,
          next: r[6],
          last: r[7] ?? undefined,
          count: r[8],
          options: r[9],
          policy: policyOf(r[10]),
          body: this.#bodies.read(r[11], r.length > 11, r[0] === SEALED_SCHEDULE, scheduleContext(r[1], r[2])),
        });
        break;
      case UNSCHEDULE:
        restorer.unschedule(r[1], r[2]);
        break;
      default:
        throw new BadPayloadError(`holds a record of unknown type ${String(r[0])}`);
    }
  }
}
