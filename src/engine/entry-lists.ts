import type { Entry } from './entry.js';

/**
 * An intrusive doubly linked FIFO of entries over their group links (in their extras:
 * only entries with a `group` are ever in one): O(1) push, shift and removal from anywhere.
 */
export class EntryList {
  head: Entry | undefined = undefined;
  tail: Entry | undefined = undefined;
  size = 0;

  push(entry: Entry): void {
    const links = entry.extras!;
    links.prev = this.tail;
    links.next = undefined;
    if (this.tail) this.tail.extras!.next = entry;
    else this.head = entry;
    this.tail = entry;
    this.size++;
  }

  remove(entry: Entry): void {
    const links = entry.extras!;
    if (links.prev) links.prev.extras!.next = links.next;
    else this.head = links.next;
    if (links.next) links.next.extras!.prev = links.prev;
    else this.tail = links.prev;
    links.prev = links.next = undefined;
    this.size--;
  }
}

/** {@link EntryList} over the ready links: one priority bucket of a ReadyIndex. */
export class ReadyList {
  head: Entry | undefined = undefined;
  tail: Entry | undefined = undefined;
  size = 0;

  push(entry: Entry): void {
    entry.readyPrev = this.tail;
    entry.readyNext = undefined;
    if (this.tail) this.tail.readyNext = entry;
    else this.head = entry;
    this.tail = entry;
    this.size++;
  }

  remove(entry: Entry): void {
    if (entry.readyPrev) entry.readyPrev.readyNext = entry.readyNext;
    else this.head = entry.readyNext;
    if (entry.readyNext) entry.readyNext.readyPrev = entry.readyPrev;
    else this.tail = entry.readyPrev;
    entry.readyPrev = entry.readyNext = undefined;
    this.size--;
  }
}

/**
 * Every entry of one queue in the order stored, over the stored links: what purge,
 * `drop-oldest` and snapshots walk. It replaces iterating an id map, so a queue
 * needs no map from ids to entries unless something asks by id (see `QueueState.byId`).
 */
export class StoredList {
  head: Entry | undefined = undefined;
  tail: Entry | undefined = undefined;
  size = 0;

  push(entry: Entry): void {
    entry.storedPrev = this.tail;
    entry.storedNext = undefined;
    if (this.tail) this.tail.storedNext = entry;
    else this.head = entry;
    this.tail = entry;
    this.size++;
  }

  remove(entry: Entry): void {
    if (entry.storedPrev) entry.storedPrev.storedNext = entry.storedNext;
    else this.head = entry.storedNext;
    if (entry.storedNext) entry.storedNext.storedPrev = entry.storedPrev;
    else this.tail = entry.storedPrev;
    entry.storedPrev = entry.storedNext = undefined;
    this.size--;
  }

  *[Symbol.iterator](): IterableIterator<Entry> {
    // The next link is read before yielding, so the caller may remove the entry it was given.
    for (let e = this.head; e !== undefined; ) {
      const next = e.storedNext;
      yield e;
      e = next;
    }
  }
}
