import type { Entry, EntryOwner } from './entry.js';
import { type EntryList, StoredList } from './entry-lists.js';
import { ReadyIndex } from './ready-index.js';

/** Everything one queue holds. The {@link Engine} is the only code that changes it. */
export class QueueState implements EntryOwner {
  readonly name: string;
  /** Every message in the queue, in any state, in the order stored. */
  readonly stored = new StoredList();
  /**
   * id → entry, kept only when something needs to find messages by id: a queue
   * that receives dead-letter copies or redriven messages (a copy may meet an earlier
   * copy of itself and is renamed, so ids stay unique per queue, which a journal's
   * records rely on; a stale receipt of an id that came back is told apart), a
   * receipt the engine did not hand out, or a log being replayed once its records
   * name messages by id. `undefined` otherwise: a lease already points at its entry,
   * and the map was the dearest part of a send and ack (docs/benchmarks.md).
   */
  byId: Map<string, Entry> | undefined;
  readonly ready = new ReadyIndex();
  /** Members of each FIFO group in order; the head is the one that may be delivered. */
  readonly groups = new Map<string, EntryList>();
  /** dedupeId → the id stored for it and until when the id is remembered. */
  readonly dedupe = new Map<string, { id: string; until: number }>();
  /** dedupeIds in the order they were recorded, so expired ones are pruned from the front. */
  dedupeOrder: string[] = [];
  dedupeHead = 0;

  /**
   * `[name]`, made once: what {@link Engine.takeReady} hands out when only this queue became ready.
   * Not frozen: V8's optimized code reads a frozen array's elements through a generic call (docs/benchmarks.md).
   */
  readonly nameList: readonly string[];
  /** Set while the queue waits in the engine's list of queues to signal as ready. */
  readyMarked = false;
  /** Set while the queue waits in the engine's list of queues that may have become empty. */
  drainMarked = false;

  /** The `enqueuedAt` of the last entry made: entries of one millisecond share its 16-byte box. */
  lastTime: number | undefined = undefined;

  /** The last {@link Entry.seq} handed out. */
  lastSeq = 0;

  delayedCount = 0;
  /** Group members waiting behind their group's head. */
  groupedCount = 0;
  inflightCount = 0;

  sent = 0;
  delivered = 0;
  acked = 0;
  retried = 0;
  deadLettered = 0;
  expired = 0;

  constructor(name: string) {
    this.name = name;
    this.nameList = [name];
    this.byId = undefined;
  }

  /** The id index, built from the stored list on first use and kept up to date from then on. */
  index(): Map<string, Entry> {
    let byId = this.byId;
    if (byId === undefined) {
      byId = new Map();
      // Ids are unique per queue when they come from pocketmq; should a caller of the
      // storage have stored one twice, the first stored answers for it.
      for (const entry of this.stored) if (!byId.has(entry.id)) byId.set(entry.id, entry);
      this.byId = byId;
    }
    return byId;
  }

  /** Messages waiting to be delivered (ready, delayed or behind their group). */
  get waiting(): number {
    return this.ready.size + this.delayedCount + this.groupedCount;
  }
}

