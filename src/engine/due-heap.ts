import type { Entry } from './entry.js';

/**
 * Binary min-heap of entries keyed by `entry.dueAt`: delays, retries, lease ends and
 * TTLs all live here, so the earliest due time of a whole storage is `peek()`.
 * Entries record their own position, which makes update and removal O(log n).
 * Ties go to the entry created first ({@link Entry.seq}): messages that fall due
 * together become ready in the order they were sent.
 */
export class DueHeap {
  #items: Entry[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): Entry | undefined {
    return this.#items[0];
  }

  push(entry: Entry): void {
    entry.heapIndex = this.#items.length;
    this.#items.push(entry);
    this.#up(entry.heapIndex);
  }

  /** Re-positions an entry whose `dueAt` changed. */
  update(entry: Entry): void {
    this.#up(entry.heapIndex);
    this.#down(entry.heapIndex);
  }

  remove(entry: Entry): void {
    const index = entry.heapIndex;
    const last = this.#items.pop()!;
    entry.heapIndex = -1;
    if (last === entry) return;
    this.#items[index] = last;
    last.heapIndex = index;
    this.#up(index);
    this.#down(last.heapIndex);
  }

  clear(): void {
    for (const entry of this.#items) entry.heapIndex = -1;
    this.#items = [];
  }

  #up(index: number): void {
    const items = this.#items;
    const entry = items[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = items[parentIndex]!;
      if (!before(entry, parent)) break;
      items[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    items[index] = entry;
    entry.heapIndex = index;
  }

  #down(index: number): void {
    const items = this.#items;
    const length = items.length;
    const entry = items[index]!;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= length) break;
      if (child + 1 < length && before(items[child + 1]!, items[child]!)) child++;
      const smaller = items[child]!;
      if (!before(smaller, entry)) break;
      items[index] = smaller;
      smaller.heapIndex = index;
      index = child;
    }
    items[index] = entry;
    entry.heapIndex = index;
  }
}

/** Whether `a` is due before `b`: earlier time, or the same time and created first. */
function before(a: Entry, b: Entry): boolean {
  return a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.seq < b.seq);
}
