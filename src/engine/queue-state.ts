import type { Entry, EntryList } from './entry.js';
import { ReadyIndex } from './ready-index.js';

/** Everything one queue holds. The {@link Engine} is the only code that changes it. */
export class QueueState {
  readonly name: string;
  /** Every message in the queue, in any state. Insertion-ordered. */
  readonly byId = new Map<string, Entry>();
  readonly ready = new ReadyIndex();
  /** Members of each FIFO group in order; the head is the one that may be delivered. */
  readonly groups = new Map<string, EntryList>();
  /** dedupeId → the id stored for it and until when the id is remembered. */
  readonly dedupe = new Map<string, { id: string; until: number }>();
  /** dedupeIds in the order they were recorded, so expired ones are pruned from the front. */
  dedupeOrder: string[] = [];
  dedupeHead = 0;

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
  }

  /** Messages waiting to be delivered (ready, delayed or behind their group). */
  get waiting(): number {
    return this.ready.size + this.delayedCount + this.groupedCount;
  }
}

