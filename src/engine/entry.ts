import type { NewMessage, StoredMessage } from './types.js';

/** What an entry needs of its queue (a QueueState): an interface here, so entry.ts imports no queue code. */
export interface EntryOwner {
  /** The `enqueuedAt` of the last entry made in the queue (entries of one millisecond share its box). */
  lastTime: number | undefined;
  /** The last {@link Entry.seq} handed out in the queue. */
  lastSeq: number;
}

/** Where an entry is in its queue's life. */
export enum EntryState {
  /** Deliverable: in the ready index. */
  Ready,
  /** Waiting for `availableAt`: in the due heap. */
  Delayed,
  /** Behind the head of its FIFO group: in the group's list only (and the heap when it has a TTL). */
  Grouped,
  /** Leased: in the due heap keyed by the lease's end. */
  Inflight,
  /** Gone from its queue (acked, dead-lettered, expired, purged, dropped): in no structure. */
  Removed,
}

/**
 * The message fields most messages leave unset, kept apart so that a plain message
 * does not pay a slot for each; with them the links of the entry's FIFO group list,
 * which only a message with a `group` (and so with extras) is in.
 */
interface EntryExtras {
  readonly headers: Readonly<Record<string, string>> | undefined;
  readonly expiresAt: number | undefined;
  readonly dedupeId: string | undefined;
  readonly group: string | undefined;
  readonly correlationId: string | undefined;
  readonly subject: string | undefined;
  /** Links in its FIFO group's list (`EntryList`). */
  prev: Entry | undefined;
  next: Entry | undefined;
}

/**
 * The engine's record of one message. One object per message carries the message
 * fields and the intrusive links of every structure it sits in, so holding a
 * message costs no allocation beyond this object (and one more for the rarely set
 * fields, only when one of them is set). Made by {@link newEntry}.
 */
export interface Entry extends StoredMessage {
  readonly id: string;
  readonly body: unknown;
  readonly priority: number;
  readonly enqueuedAt: number;
  availableAt: number;
  /** @internal The rarely set fields and the group links; `undefined` for a plain message. */
  readonly extras: EntryExtras | undefined;
  attempt: number;
  state: EntryState;
  /** Token of the current lease; 0 when not leased. */
  token: number;
  /**
   * Due-heap key: the time of the next thing that happens to this entry, read only while
   * it is in the heap. Starts `undefined`: neither a layout migration nor a boxed double
   * per entry (docs/benchmarks.md, "Notes moved from the code").
   */
  dueAt: number;
  /** Position in the due heap; -1 when not in it. */
  heapIndex: number;
  /**
   * Creation order within its queue. Entries due at the same time are handled in
   * this order, so messages that fall due together stay FIFO.
   */
  readonly seq: number;
  /**
   * Links in a ready bucket (`ReadyList`). Separate from the group links
   * because a group's head sits in its group's list and in a ready bucket at once.
   */
  readyPrev: Entry | undefined;
  readyNext: Entry | undefined;
  /** Links in its queue's list of every entry, in the order stored (`StoredList`). */
  storedPrev: Entry | undefined;
  storedNext: Entry | undefined;
  /** The queue the entry belongs to. */
  readonly owner: EntryOwner;
}

/** The prototype of an entry with extras: its rarely set message fields, read from them. */
const ENTRY_PROTOTYPE = {
  get headers(): Readonly<Record<string, string>> | undefined {
    return (this as unknown as Entry).extras?.headers;
  },
  get expiresAt(): number | undefined {
    return (this as unknown as Entry).extras?.expiresAt;
  },
  get dedupeId(): string | undefined {
    return (this as unknown as Entry).extras?.dedupeId;
  },
  get group(): string | undefined {
    return (this as unknown as Entry).extras?.group;
  },
  get correlationId(): string | undefined {
    return (this as unknown as Entry).extras?.correlationId;
  },
  get subject(): string | undefined {
    return (this as unknown as Entry).extras?.subject;
  },
};

/**
 * A new entry for `message` in `owner`. An object literal, not `new`, so that V8
 * allocates long-lived entries straight in the old generation; only an entry with
 * extras takes {@link ENTRY_PROTOTYPE} (docs/benchmarks.md, "Notes moved from the code").
 */
export function newEntry(message: NewMessage, owner: EntryOwner): Entry {
  // Messages stored in the same millisecond share one boxed time (see QueueState.lastTime).
  const at = message.enqueuedAt;
  const enqueuedAt = at === owner.lastTime ? owner.lastTime : (owner.lastTime = at);
  // Without a delay both times are equal: share one boxed number instead of holding two.
  const availableAt = message.availableAt === message.enqueuedAt ? enqueuedAt : message.availableAt;
  const { headers, expiresAt, dedupeId, group, correlationId, subject } = message;
  if (headers === undefined && expiresAt === undefined && dedupeId === undefined && group === undefined && correlationId === undefined && subject === undefined) {
    const entry = {
      id: message.id,
      body: message.body,
      priority: message.priority,
      enqueuedAt,
      availableAt,
      extras: undefined,
      attempt: 0,
      state: EntryState.Ready,
      token: 0,
      dueAt: undefined,
      heapIndex: -1,
      seq: ++owner.lastSeq,
      readyPrev: undefined,
      readyNext: undefined,
      storedPrev: undefined,
      storedNext: undefined,
      owner,
    };
    return entry as unknown as Entry;
  }
  const entry = {
    __proto__: ENTRY_PROTOTYPE,
    id: message.id,
    body: message.body,
    priority: message.priority,
    enqueuedAt,
    availableAt,
    extras: { headers, expiresAt, dedupeId, group, correlationId, subject, prev: undefined, next: undefined },
    attempt: 0,
    state: EntryState.Ready,
    token: 0,
    dueAt: undefined,
    heapIndex: -1,
    seq: ++owner.lastSeq,
    readyPrev: undefined,
    readyNext: undefined,
    storedPrev: undefined,
    storedNext: undefined,
    owner,
  };
  return entry as unknown as Entry;
}
