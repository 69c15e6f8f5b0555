import type { Entry } from './entry.js';
import { ReadyList } from './entry-lists.js';

/**
 * Deliverable entries of one queue: one FIFO bucket per priority, buckets kept in
 * descending priority order. Push, shift and removal are O(1) plus O(p) to add or
 * drop a bucket, where p is the number of distinct priorities in use (small in
 * practice: priorities are a handful of levels, not per-message keys).
 */
export class ReadyIndex {
  /** Buckets with at least one entry, highest priority first. */
  #buckets: { priority: number; list: ReadyList }[] = [];
  size = 0;

  push(entry: Entry): void {
    const buckets = this.#buckets;
    let bucket = buckets.length > 0 && buckets[0]!.priority === entry.priority ? buckets[0] : undefined;
    if (!bucket) {
      let index = 0;
      while (index < buckets.length && buckets[index]!.priority > entry.priority) index++;
      bucket = buckets[index];
      if (!bucket || bucket.priority !== entry.priority) {
        bucket = { priority: entry.priority, list: new ReadyList() };
        buckets.splice(index, 0, bucket);
      }
    }
    bucket.list.push(entry);
    this.size++;
  }

  /** The next entry to deliver: the oldest of the highest priority. */
  first(): Entry | undefined {
    return this.#buckets[0]?.list.head;
  }

  /** The first entry in delivery order that is not in `skipped`: O(skipped entries ahead of it + 1). */
  firstNotIn(skipped: ReadonlySet<Entry>): Entry | undefined {
    for (const { list } of this.#buckets) {
      for (let e = list.head; e; e = e.readyNext) if (!skipped.has(e)) return e;
    }
    return undefined;
  }

  /** The oldest entry of the lowest priority: what `overflow: 'drop-oldest'` sheds first. */
  leastImportant(): Entry | undefined {
    return this.#buckets[this.#buckets.length - 1]?.list.head;
  }

  remove(entry: Entry): void {
    const buckets = this.#buckets;
    const index = buckets.length > 0 && buckets[0]!.priority === entry.priority ? 0 : buckets.findIndex((b) => b.priority === entry.priority);
    const list = buckets[index]!.list;
    list.remove(entry);
    if (list.size === 0) buckets.splice(index, 1);
    this.size--;
  }

  /** Up to `max` entries in delivery order. */
  list(max: number): Entry[] {
    const out: Entry[] = [];
    for (const { list } of this.#buckets) {
      for (let e = list.head; e && out.length < max; e = e.readyNext) out.push(e);
      if (out.length >= max) break;
    }
    return out;
  }

  clear(): Entry[] {
    const all = this.list(Infinity);
    for (const e of all) e.readyPrev = e.readyNext = undefined;
    this.#buckets = [];
    this.size = 0;
    return all;
  }
}
