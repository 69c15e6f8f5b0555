import type {
  BrowsedMessage,
  ClaimRequest,
  ClaimResult,
  DeadLetterHeaderNames,
  DeadLetterInfo,
  DeadLettered,
  Delivery,
  EngineErrors,
  EnqueuePolicy,
  EnqueueResult,
  FireResult,
  MessageState,
  NewMessage,
  QueueStats,
  Receipt,
  RedriveRequest,
  ScheduleAdvance,
  Settle,
  StoredMessage,
  StoredSchedule,
} from './types.js';
import { ScheduleTable } from './schedule-table.js';
import type { EngineJournal, EngineRestorer, EngineState, QueueSnapshot } from './persistence.js';
import { DueHeap } from './due-heap.js';
import { type Entry, EntryState, newEntry } from './entry.js';
import { EntryList } from './entry-lists.js';
import { QueueState } from './queue-state.js';
import { redrivenHeaders, redriveTarget } from './redrive.js';
import { NameMap } from './name-map.js';

/**
 * The receipts the engine hands out: each keeps its entry, so settling it needs no
 * lookup by id. A lease is also its own {@link Delivery} (one object per delivery, not two).
 */
class Lease implements Receipt, Delivery {
  readonly id: string;
  readonly token: number;
  readonly entry: Entry;

  constructor(id: string, token: number, entry: Entry) {
    this.id = id;
    this.token = token;
    this.entry = entry;
  }

  get message(): StoredMessage {
    return this.entry;
  }

  get receipt(): Receipt {
    return this;
  }
}

/** Shared empty results: never written to. */
const NO_NAMES: readonly string[] = Object.freeze([]);
const NO_DEAD: readonly DeadLettered[] = Object.freeze([]);

/**
 * The queue state of a whole storage: pure and synchronous, time passed in.
 *
 * Every operation first applies what fell due by `now` (delays, retries, lease
 * ends, TTLs), so the result never depends on whether a timer fired first. That
 * also makes replay deterministic: the same operations with the same `now`s give
 * the same state, which is what the file log relies on.
 *
 * Costs: every operation is O(log n) in the number of messages (the due heap),
 * plus O(p) in distinct priorities when a priority bucket appears or empties.
 * `purge` is O(n).
 */
export class Engine {
  readonly #queues = new NameMap<QueueState>();
  readonly #heap = new DueHeap();
  /** The public API's DEAD_LETTER_HEADERS, given by the caller so that the engine imports nothing outside itself. */
  readonly #deadLetterHeaders: DeadLetterHeaderNames;
  /** The library's error classes, given by the caller for the same reason. */
  readonly #errors: EngineErrors;
  /** Lease tokens: a counter, so replay hands out the same tokens. */
  #lastToken = 0;

  /**
   * Queues that may have become deliverable since the last {@link Engine.takeReady}:
   * the first `#readyCount` slots, each queue once. A reused buffer, not a new Set per
   * operation (almost every operation marks one queue ready).
   */
  #ready: QueueState[] = [];
  #readyCount = 0;
  /** Queues that lost a message since the last {@link Engine.takeDrained}: the first `#drainCount` slots. */
  #drain: QueueState[] = [];
  #drainCount = 0;
  /** Messages expired since the last {@link Engine.takeExpired}, per queue; `undefined` when none. */
  #expired: Map<string, StoredMessage[]> | undefined = undefined;
  /** Recurring sends, kept beside the queues: they are not messages, and a queue forgotten keeps them. */
  readonly #schedules = new ScheduleTable();

  constructor(deadLetterHeaders: DeadLetterHeaderNames, errors: EngineErrors) {
    this.#deadLetterHeaders = deadLetterHeaders;
    this.#errors = errors;
  }

  // ---------------------------------------------------------------- operations

  enqueue(queue: string, items: readonly NewMessage[], policy: EnqueuePolicy, now: number): EnqueueResult {
    // Dropping into the queue itself would refill it while making room: an endless loop.
    if (policy.deadLetter === queue) throw this.#errors.outOfRange('policy.deadLetter', `Expected \`policy.deadLetter\` to name a queue other than "${queue}"`);
    this.advance(now);
    const q = this.#queue(queue);
    this.#pruneDedupe(q, now);
    const results: { id: string; status: 'stored' | 'duplicate' }[] = new Array(items.length);
    // Decide every item before changing anything, so a rejected batch stores nothing.
    let batchIds: Map<string, string> | undefined;
    let fresh = 0;
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      const duplicateOf = item.dedupeId === undefined ? undefined : (this.#duplicateOf(q, item, now) ?? batchIds?.get(item.dedupeId));
      if (duplicateOf !== undefined) {
        results[i] = { id: duplicateOf, status: 'duplicate' };
      } else {
        results[i] = { id: item.id, status: 'stored' };
        fresh++;
        // Items of one batch are stored at the same `now`: within the window of each other only when it is not 0.
        if (item.dedupeId !== undefined && policy.dedupeWindow > 0) (batchIds ??= new Map()).set(item.dedupeId, item.id);
      }
    }
    const { maxLength } = policy;
    if (maxLength !== undefined && policy.overflow === 'reject' && q.waiting + fresh > maxLength) {
      return { results: [], full: true, dropped: NO_DEAD };
    }
    for (let i = 0; i < items.length; i++) {
      if (results[i]!.status === 'stored') this.#insert(q, items[i]!, policy.dedupeWindow, now);
    }
    let dropped: DeadLettered[] | undefined;
    if (maxLength !== undefined) {
      while (q.waiting > maxLength) {
        const victim = this.#oldestWaiting(q)!;
        this.#unlink(q, victim, now);
        (dropped ??= []).push(this.#deadLetterEntry(q, victim, policy.deadLetter, { reason: 'overflow' }, now));
      }
    }
    return { results, full: false, dropped: dropped ?? NO_DEAD };
  }

  /** Puts a copy of each item into each queue: topic fan-out. No bounds apply. */
  enqueueMany(queues: readonly string[], items: readonly NewMessage[], dedupeWindow: number, now: number): void {
    this.advance(now);
    for (const name of queues) {
      const q = this.#queue(name);
      this.#pruneDedupe(q, now);
      for (const item of items) {
        if (this.#duplicateOf(q, item, now) === undefined) this.#insert(q, item, dedupeWindow, now);
      }
    }
  }

  claim(queue: string, request: ClaimRequest, now: number): ClaimResult {
    this.advance(now);
    const q = this.#queues.get(queue);
    if (!q) return { delivered: [], deadLettered: NO_DEAD };
    // Sized for what can be delivered (a push into `[]` reserves 16 slots), trimmed below.
    const room = Math.min(request.max, q.ready.size);
    const delivered: Delivery[] = new Array(room);
    let count = 0;
    let deadLettered: DeadLettered[] | undefined;
    // One boxed number for every lease of this claim, not one per entry.
    const leaseEnd = now + request.leaseMs;
    while (count < room) {
      const entry = q.ready.first();
      if (!entry) break;
      if (entry.attempt >= request.maxAttempts) {
        // Only a lease that ran out on the last allowed attempt gets here: a
        // failed handler is dead-lettered by the caller instead of released.
        this.#unlink(q, entry, now);
        (deadLettered ??= []).push(this.#deadLetterEntry(q, entry, request.deadLetter, { reason: 'max-attempts', error: 'lease expired' }, now));
        continue;
      }
      q.ready.remove(entry);
      if (entry.heapIndex >= 0) this.#heap.remove(entry);
      entry.attempt++;
      entry.state = EntryState.Inflight;
      entry.token = ++this.#lastToken;
      entry.dueAt = leaseEnd;
      this.#heap.push(entry);
      q.inflightCount++;
      q.delivered++;
      this.#journal?.claimed(q.name, entry);
      delivered[count++] = new Lease(entry.id, entry.token, entry);
    }
    if (count < room) delivered.length = count;
    return { delivered, deadLettered: deadLettered ?? NO_DEAD };
  }

  ack(queue: string, receipts: readonly Receipt[], now: number): Settle[] {
    this.advance(now);
    const q = this.#queues.get(queue);
    const out: Settle[] = new Array(receipts.length);
    for (let i = 0; i < receipts.length; i++) {
      const entry = this.#leased(q, receipts[i]!);
      if (typeof entry === 'string') {
        out[i] = entry;
        continue;
      }
      this.#unlink(q!, entry, now);
      q!.acked++;
      this.#journal?.removed(q!.name, entry.id, 'acked');
      out[i] = 'ok';
    }
    return out;
  }

  release(queue: string, receipt: Receipt, dueAt: number, now: number): Settle {
    this.advance(now);
    const q = this.#queues.get(queue);
    const entry = this.#leased(q, receipt);
    if (typeof entry === 'string') return entry;
    this.#heap.remove(entry);
    q!.inflightCount--;
    q!.retried++;
    entry.token = 0;
    entry.availableAt = dueAt;
    this.#journal?.released(q!.name, entry);
    this.#reschedule(q!, entry, now);
    return 'ok';
  }

  deadLetter(queue: string, receipt: Receipt, target: string | false, info: DeadLetterInfo, now: number): Settle {
    this.advance(now);
    const q = this.#queues.get(queue);
    const entry = this.#leased(q, receipt);
    if (typeof entry === 'string') return entry;
    this.#unlink(q!, entry, now);
    this.#deadLetterEntry(q!, entry, target, info, now);
    return 'ok';
  }

  extend(queue: string, receipt: Receipt, leaseUntil: number, now: number): Settle {
    this.advance(now);
    const entry = this.#leased(this.#queues.get(queue), receipt);
    if (typeof entry === 'string') return entry;
    entry.dueAt = leaseUntil;
    this.#heap.update(entry);
    return 'ok';
  }

  /**
   * Forgets a queue that holds nothing: it takes no memory (and no snapshot record)
   * until it is used again, and its counters start again from 0. Returns false,
   * changing nothing, while it holds a message (ready, delayed or in flight) or
   * remembers a dedupeId still within its window.
   */
  forget(queue: string, now: number): boolean {
    this.advance(now);
    const q = this.#queues.get(queue);
    if (q === undefined) return true;
    this.#pruneDedupe(q, now);
    if (q.stored.size > 0 || q.dedupe.size > 0) return false;
    this.#queues.delete(queue);
    this.#journal?.forgotten(queue);
    return true;
  }

  /** The queue's `sent` counter as `stats()` reports it; applies nothing that fell due, so it reads without a `now`. */
  sentCount(queue: string): number {
    return this.#queues.get(queue)?.sent ?? 0;
  }

  stats(queue: string, now: number): QueueStats {
    this.advance(now);
    const q = this.#queues.get(queue) ?? new QueueState(queue);
    return {
      ready: q.ready.size + q.groupedCount,
      delayed: q.delayedCount,
      inflight: q.inflightCount,
      sent: q.sent,
      delivered: q.delivered,
      acked: q.acked,
      retried: q.retried,
      deadLettered: q.deadLettered,
      expired: q.expired,
    };
  }

  purge(queue: string, now: number): number {
    this.advance(now);
    const q = this.#queues.get(queue);
    if (!q) return 0;
    let removed = 0;
    const waiting: Entry[] = [];
    for (const entry of q.stored) if (entry.state !== EntryState.Inflight) waiting.push(entry);
    for (const entry of waiting) {
      this.#unlink(q, entry, now);
      this.#journal?.removed(q.name, entry.id, 'purged');
      removed++;
    }
    return removed;
  }

  peek(queue: string, max: number, now: number): StoredMessage[] {
    this.advance(now);
    return this.#queues.get(queue)?.ready.list(max) ?? [];
  }

  /**
   * Removes one waiting (ready, delayed or behind its group) message by id; its group's
   * next member moves up. False, changing nothing, for a message in flight or not in the
   * queue. O(1) on a queue with an id index, else O(n): an admin operation, not a hot path.
   * The message's dedupeId stays remembered for its window.
   */
  remove(queue: string, id: string, now: number): boolean {
    this.advance(now);
    const q = this.#queues.get(queue);
    if (q === undefined) return false;
    const entry = q.byId === undefined ? findStored(q, id) : q.byId.get(id);
    if (entry === undefined || entry.state === EntryState.Inflight || entry.state === EntryState.Removed) return false;
    this.#unlink(q, entry, now);
    this.#journal?.removed(q.name, entry.id, 'purged');
    return true;
  }

  /**
   * Moves up to `request.max` ready messages (those behind their group's head included,
   * as a consumer would get them: in delivery order) each to `request.to`, or else to the
   * queue its `x-original-queue` header names when `isQueueName` accepts it; the others
   * stay. Each moved message is stored anew in its target: attempt 0, no dedupeId (it is
   * never dropped as a duplicate), no TTL, maxLength not applied, its id, body, priority,
   * group, correlationId, subject and headers kept but the dead-letter story, and
   * `x-redrive-count` one more. Removal and store are one operation, so a journal records
   * both in one batch. O(moved + stayers ahead of them) per move.
   */
  redrive(queue: string, request: RedriveRequest, isQueueName: (name: string) => boolean, now: number): number {
    if (request.to === queue) throw this.#errors.outOfRange('request.to', `Expected \`request.to\` to name a queue other than "${queue}"`);
    this.advance(now);
    const q = this.#queues.get(queue);
    if (q === undefined) return 0;
    const names = this.#deadLetterHeaders;
    const stay = new Set<Entry>();
    let moved = 0;
    while (moved < request.max) {
      const entry = q.ready.firstNotIn(stay);
      if (entry === undefined) break;
      const target = redriveTarget(entry, queue, request.to, names, isQueueName);
      if (target === undefined) {
        stay.add(entry);
        continue;
      }
      this.#unlink(q, entry, now);
      this.#journal?.removed(q.name, entry.id, 'purged');
      const destination = this.#queue(target);
      // The id may come back to a queue it left, or meet a fan-out copy there: as a queue that
      // receives dead-letter copies, the target keeps an id index (see QueueState.byId).
      destination.index();
      this.#insert(destination, {
        id: entry.id,
        body: entry.body,
        headers: redrivenHeaders(entry.headers, names),
        priority: entry.priority,
        enqueuedAt: now,
        availableAt: now,
        expiresAt: undefined,
        dedupeId: undefined,
        group: entry.group,
        correlationId: entry.correlationId,
        subject: entry.subject,
      }, 0, now);
      moved++;
    }
    return moved;
  }

  /**
   * Up to `max` messages of the queue in one state, without leasing them: ready ones in
   * delivery order, then those behind their group's head in group order; delayed ones by
   * when they become ready; in-flight ones by lease end, with it. Live records: copy them.
   * O(n log n) for delayed and in-flight: for inspectors, not a hot path.
   */
  browse(queue: string, state: MessageState, max: number, now: number): BrowsedMessage[] {
    this.advance(now);
    const q = this.#queues.get(queue);
    if (q === undefined || max <= 0) return [];
    const out: BrowsedMessage[] = [];
    if (state === 'ready') {
      for (const entry of q.ready.list(max)) out.push({ message: entry, leaseUntil: undefined });
      if (out.length < max && q.groupedCount > 0) {
        for (const entry of q.stored) {
          if (entry.state !== EntryState.Grouped) continue;
          out.push({ message: entry, leaseUntil: undefined });
          if (out.length >= max) break;
        }
      }
      return out;
    }
    const wanted = state === 'delayed' ? EntryState.Delayed : EntryState.Inflight;
    const found: Entry[] = [];
    for (const entry of q.stored) if (entry.state === wanted) found.push(entry);
    if (state === 'delayed') found.sort((a, b) => a.availableAt - b.availableAt || a.seq - b.seq);
    else found.sort((a, b) => a.dueAt - b.dueAt || a.seq - b.seq);
    if (found.length > max) found.length = max;
    for (const entry of found) out.push({ message: entry, leaseUntil: state === 'inflight' ? entry.dueAt : undefined });
    return out;
  }

  /** The names of the queues that hold a message, a dedupeId within its window, or counters, sorted. */
  queueNames(now: number): string[] {
    this.advance(now);
    const names: string[] = [];
    for (const q of this.#queues.values()) if (!holdsNothing(q, now)) names.push(q.name);
    return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /**
   * Applies everything due by `now`, in time order, each at the time it fell due
   * (not at `now`): a message that became ready at 10 stays ahead of one that became
   * ready at 20 however late the tick comes. Every operation calls it first.
   */
  advance(now: number): void {
    const heap = this.#heap;
    for (let entry = heap.peek(); entry !== undefined && entry.dueAt <= now; entry = heap.peek()) {
      const at = entry.dueAt;
      heap.remove(entry);
      const q = entry.owner as QueueState;
      switch (entry.state) {
        case EntryState.Delayed:
          q.delayedCount--;
          this.#reschedule(q, entry, at);
          break;
        case EntryState.Inflight:
          // The lease ran out: deliverable again at once, attempts kept.
          q.inflightCount--;
          entry.token = 0;
          entry.availableAt = at;
          this.#reschedule(q, entry, at);
          break;
        default:
          // Ready or Grouped entries are in the heap only for their TTL.
          this.#unlink(q, entry, at);
          this.#expire(q, entry);
      }
    }
  }

  /** How many queues the engine keeps state for (see {@link Engine.forget}). */
  get queueCount(): number {
    return this.#queues.size;
  }

  /** The earliest time anything falls due, or `undefined`. */
  nextDueAt(): number | undefined {
    return this.#heap.peek()?.dueAt;
  }

  /**
   * Hands over the queues that may have become deliverable since the last call, and
   * forgets them. The array is the caller's to keep (never written to again), so a
   * caller may run operations while it iterates; adapters turn it into signals.
   */
  takeReady(): readonly string[] {
    const count = this.#readyCount;
    if (count === 0) return NO_NAMES;
    this.#readyCount = 0;
    const marked = this.#ready;
    if (count === 1) {
      const q = marked[0]!;
      q.readyMarked = false;
      return q.nameList;
    }
    const names: string[] = new Array(count);
    for (let i = 0; i < count; i++) {
      names[i] = marked[i]!.name;
      marked[i]!.readyMarked = false;
    }
    return names;
  }

  /**
   * Hands over the queues that became empty (nothing ready, delayed or in flight)
   * since the last call, having lost a message; like {@link Engine.takeReady}, the
   * array is the caller's.
   */
  takeDrained(): readonly string[] {
    const count = this.#drainCount;
    if (count === 0) return NO_NAMES;
    this.#drainCount = 0;
    const marked = this.#drain;
    if (count === 1) {
      const q = marked[0]!;
      q.drainMarked = false;
      return q.stored.size === 0 ? q.nameList : NO_NAMES;
    }
    const names: string[] = [];
    for (let i = 0; i < count; i++) {
      const q = marked[i]!;
      q.drainMarked = false;
      if (q.stored.size === 0) names.push(q.name);
    }
    return names;
  }

  /** Hands over the messages that expired since the last call, per queue, and forgets them. */
  takeExpired(): ReadonlyMap<string, StoredMessage[]> | undefined {
    const expired = this.#expired;
    this.#expired = undefined;
    return expired;
  }

  // ------------------------------------------------------------------ internals

  #queue(name: string): QueueState {
    let q = this.#queues.get(name);
    if (!q) {
      q = new QueueState(name);
      this.#queues.set(name, q);
    }
    return q;
  }

  #insert(q: QueueState, item: NewMessage, dedupeWindow: number, now: number): Entry {
    const entry = newEntry(item, q);
    let id = entry.id;
    const byId = q.byId;
    if (byId !== undefined) {
      if (byId.has(id)) {
        // Ids are unique per send, but a dead-letter copy can meet an earlier copy of itself.
        id = `${id}:${++this.#lastToken}`;
        (entry as { id: string }).id = id;
      }
      byId.set(id, entry);
    }
    q.stored.push(entry);
    q.sent++;
    if (item.dedupeId !== undefined) {
      q.dedupe.set(item.dedupeId, { id, until: now + dedupeWindow });
      q.dedupeOrder.push(item.dedupeId);
    }
    this.#journal?.inserted(q.name, entry, item.dedupeId === undefined ? undefined : now + dedupeWindow);
    if (entry.group === undefined) {
      this.#reschedule(q, entry, now);
      return entry;
    }
    let members = q.groups.get(entry.group);
    if (!members) {
      members = new EntryList();
      q.groups.set(entry.group, members);
    }
    members.push(entry);
    if (members.head === entry) {
      this.#reschedule(q, entry, now);
    } else {
      entry.state = EntryState.Grouped;
      q.groupedCount++;
      if (entry.expiresAt !== undefined) {
        entry.dueAt = entry.expiresAt;
        this.#heap.push(entry);
      }
    }
    return entry;
  }

  /**
   * Places an entry that is out of every structure (except its group's list, where
   * it is the head) by its times: expired, delayed, or ready.
   */
  #reschedule(q: QueueState, entry: Entry, now: number): void {
    if (entry.expiresAt !== undefined && entry.expiresAt <= now) {
      this.#dropFromGroup(q, entry, now);
      this.#expire(q, entry);
      return;
    }
    this.#place(q, entry, now);
  }

  /** Makes an unexpired entry delayed or ready by its `availableAt`. */
  #place(q: QueueState, entry: Entry, now: number): void {
    const { expiresAt } = entry;
    if (entry.availableAt > now) {
      entry.state = EntryState.Delayed;
      entry.dueAt = expiresAt === undefined ? entry.availableAt : Math.min(entry.availableAt, expiresAt);
      this.#heap.push(entry);
      q.delayedCount++;
      return;
    }
    entry.state = EntryState.Ready;
    q.ready.push(entry);
    if (expiresAt !== undefined) {
      entry.dueAt = expiresAt;
      this.#heap.push(entry);
    }
    if (!q.readyMarked) {
      q.readyMarked = true;
      this.#ready[this.#readyCount++] = q;
    }
  }

  /** Takes an entry out of every structure and the queue, keeping its group moving. */
  #unlink(q: QueueState, entry: Entry, now: number): void {
    if (entry.heapIndex >= 0) this.#heap.remove(entry);
    switch (entry.state) {
      case EntryState.Ready:
        q.ready.remove(entry);
        break;
      case EntryState.Delayed:
        q.delayedCount--;
        break;
      case EntryState.Grouped:
        q.groupedCount--;
        break;
      case EntryState.Inflight:
        q.inflightCount--;
        break;
    }
    entry.token = 0;
    this.#forget(q, entry);
    this.#dropFromGroup(q, entry, now);
  }

  /** Takes an entry out of its queue's stored list and id index, once. */
  #forget(q: QueueState, entry: Entry): void {
    if (entry.state === EntryState.Removed) return;
    entry.state = EntryState.Removed;
    q.stored.remove(entry);
    q.byId?.delete(entry.id);
    // Whether the queue is then empty is decided when the operation is over (takeDrained):
    // a group's next member may still be placed, a dead-letter copy stored.
    if (!q.drainMarked) {
      q.drainMarked = true;
      this.#drain[this.#drainCount++] = q;
    }
  }

  /** Removes an entry from its group's list; when it was the head, the next live member takes its place. */
  #dropFromGroup(q: QueueState, entry: Entry, now: number): void {
    const group = entry.group;
    if (group === undefined) return;
    const members = q.groups.get(group);
    if (!members) return;
    const wasHead = members.head === entry;
    members.remove(entry);
    if (!wasHead) return;
    // A loop, not recursion: a long run of members expiring together must not grow the stack.
    for (let next = members.head; ; next = members.head) {
      if (!next) {
        q.groups.delete(group);
        return;
      }
      q.groupedCount--;
      if (next.heapIndex >= 0) this.#heap.remove(next);
      if (next.expiresAt !== undefined && next.expiresAt <= now) {
        members.remove(next);
        this.#expire(q, next);
        continue;
      }
      this.#place(q, next, now);
      return;
    }
  }

  #expire(q: QueueState, entry: Entry): void {
    this.#forget(q, entry);
    q.expired++;
    this.#journal?.removed(q.name, entry.id, 'expired');
    const expired = (this.#expired ??= new Map());
    let list = expired.get(q.name);
    if (!list) {
      list = [];
      expired.set(q.name, list);
    }
    list.push(entry);
  }

  #deadLetterEntry(q: QueueState, entry: Entry, target: string | false, info: DeadLetterInfo, now: number): DeadLettered {
    q.deadLettered++;
    this.#journal?.removed(q.name, entry.id, 'dead');
    if (target !== false) {
      const names = this.#deadLetterHeaders;
      const headers: Record<string, string> = { ...entry.headers };
      headers[names.reason] = info.reason;
      if (info.error !== undefined) headers[names.error] = info.error;
      headers[names.queue] = q.name;
      headers[names.attempts] = String(entry.attempt);
      headers[names.at] = String(now);
      const copy: NewMessage = {
        id: entry.id,
        body: entry.body,
        headers,
        priority: entry.priority,
        enqueuedAt: now,
        availableAt: now,
        expiresAt: undefined,
        dedupeId: undefined,
        group: entry.group,
        correlationId: entry.correlationId,
        subject: entry.subject,
      };
      const dlq = this.#queue(target);
      // Only a dead-letter copy can meet an earlier copy of itself (fan-out copies share
      // an id): a queue that receives them keeps an id index to rename a clash.
      dlq.index();
      this.#insert(dlq, copy, 0, now);
    }
    return { message: entry, reason: info.reason, target };
  }

  /** The entry for a receipt if its lease is current, else why not. */
  #leased(q: QueueState | undefined, receipt: Receipt): Entry | 'stale' | 'missing' {
    if (q === undefined) return 'missing';
    // A lease of this engine: its entry directly, with no lookup by id (the queue may
    // keep no id index). Unlinking an entry zeroes its token and marks it Removed.
    if (receipt instanceof Lease) {
      const leased = receipt.entry;
      if (leased.owner === q) {
        if (leased.state === EntryState.Inflight && leased.token === receipt.token) return leased;
        if (leased.state !== EntryState.Removed) return 'stale';
        // Gone. Another message with its id can be in the queue only if the queue
        // receives dead-letter copies or redriven messages, or is journaled, and then it has an index.
        if (q.byId === undefined) return 'missing';
      }
    }
    // A receipt from elsewhere (or for another queue) is found by id: the queue's index
    // is built on first use and kept from then on.
    const entry = q.index().get(receipt.id);
    if (!entry) return 'missing';
    if (entry.state !== EntryState.Inflight || entry.token !== receipt.token) return 'stale';
    return entry;
  }

  #duplicateOf(q: QueueState, item: NewMessage, now: number): string | undefined {
    if (item.dedupeId === undefined) return undefined;
    const seen = q.dedupe.get(item.dedupeId);
    return seen !== undefined && seen.until > now ? seen.id : undefined;
  }

  #pruneDedupe(q: QueueState, now: number): void {
    const order = q.dedupeOrder;
    while (q.dedupeHead < order.length) {
      const key = order[q.dedupeHead]!;
      const seen = q.dedupe.get(key);
      if (seen !== undefined && seen.until > now) break;
      if (seen !== undefined) q.dedupe.delete(key);
      q.dedupeHead++;
    }
    // Dropped keys stay before dedupeHead until half the array is dead: amortized O(1).
    if (q.dedupeHead > 1024 && q.dedupeHead * 2 > order.length) {
      q.dedupeOrder = order.slice(q.dedupeHead);
      q.dedupeHead = 0;
    }
  }

  /** The message `overflow: 'drop-oldest'` sheds: the oldest ready one of the lowest priority, else the oldest waiting one. */
  #oldestWaiting(q: QueueState): Entry | undefined {
    const ready = q.ready.leastImportant();
    if (ready) return ready;
    // Rare: everything waiting is delayed or behind a group. The stored list is in the order stored.
    for (const entry of q.stored) if (entry.state !== EntryState.Inflight) return entry;
    return undefined;
  }

  // ----------------------------------------------------------------- schedules

  /** Stores or replaces the schedule `schedule.id` of `queue`. */
  putSchedule(queue: string, schedule: StoredSchedule): void {
    this.#schedules.put(queue, schedule);
    this.#journal?.scheduled(queue, schedule);
  }

  /** Removes a schedule; true if it existed. */
  deleteSchedule(queue: string, id: string): boolean {
    const deleted = this.#schedules.delete(queue, id);
    if (deleted) this.#journal?.unscheduled(queue, id);
    return deleted;
  }

  /** The schedules of `queue` (of every queue when `undefined`), by queue then id. */
  listSchedules(queue: string | undefined): { queue: string; schedule: StoredSchedule }[] {
    return this.#schedules.list(queue);
  }

  /**
   * Sends one tick of a schedule and advances it, only if its stored `next` is still
   * `expectedNext` (compare-and-set: of two processes racing for one tick, one sends it).
   * The items are enqueued under the schedule's stored policy.
   */
  fireSchedule(queue: string, id: string, expectedNext: number, update: ScheduleAdvance, items: readonly NewMessage[], now: number): FireResult {
    const schedule = this.#schedules.get(queue, id);
    if (schedule === undefined || schedule.next !== expectedNext) return 'stale';
    const result = items.length === 0 ? { results: [], full: false, dropped: NO_DEAD } : this.enqueue(queue, items, schedule.policy, now);
    if (update.next === undefined) this.deleteSchedule(queue, id);
    else this.putSchedule(queue, { ...schedule, next: update.next, last: update.last, count: update.count });
    return result;
  }

  /** The earliest tick of every schedule; `undefined` when there is none. */
  nextScheduleAt(): number | undefined {
    return this.#schedules.nextAt();
  }

  // ------------------------------------------------- persistence (FileStorage)
  // What a storage that keeps the state elsewhere needs: a journal told of every
  // change to a message (so the storage can log effects, not calls), and a way to
  // export the whole state and rebuild it. Still pure: no I/O, no clock.

  #journal: EngineJournal | undefined = undefined;

  /**
   * Told of every change that must outlive the process; `undefined` (the default)
   * costs one check per change. A journal names messages by id; ids are unique per
   * send, and the only queues where one can come twice (those receiving dead-letter
   * copies) keep an id index and rename a clashing copy, journal or not.
   */
  get journal(): EngineJournal | undefined {
    return this.#journal;
  }

  set journal(journal: EngineJournal | undefined) {
    this.#journal = journal;
  }

  /** The lease-token counter (also used to rename a clashing dead-letter copy). */
  get lastToken(): number {
    return this.#lastToken;
  }

  /**
   * The whole state, for a snapshot. The iterables read live structures: consume
   * them before the next operation. Dedupe records that ran out by `now` are left out.
   */
  exportState(now: number): EngineState {
    const kept = [...this.#queues.values()].filter((q) => !holdsNothing(q, now));
    const queues = kept.map((q): QueueSnapshot => ({
      name: q.name,
      messages: q.stored,
      dedupe: [...q.dedupe].filter(([, seen]) => seen.until > now).map(([key, seen]) => [key, seen.id, seen.until] as const),
      counters: { sent: q.sent, delivered: q.delivered, acked: q.acked, retried: q.retried, deadLettered: q.deadLettered, expired: q.expired },
    }));
    return { lastToken: this.#lastToken, queues, schedules: this.#schedules.list(undefined) };
  }

  /**
   * Rebuilds an empty engine from a state. Messages keep their attempts; whatever
   * was in flight is deliverable again at once (its lease died with its process).
   * Within a priority, ready messages come back in the order they were stored, and
   * FIFO groups keep their order. Messages whose TTL ran out expire at the next operation.
   */
  restore(state: EngineState, now: number): void {
    const restorer = this.beginRestore();
    restorer.lastToken(state.lastToken);
    for (const snapshot of state.queues) {
      Object.assign(restorer.counters(snapshot.name), snapshot.counters);
      for (const [key, id, until] of snapshot.dedupe) restorer.dedupe(snapshot.name, key, id, until);
      for (const message of snapshot.messages) restorer.put(snapshot.name, message);
    }
    for (const { queue, schedule } of state.schedules ?? []) restorer.schedule(queue, schedule);
    restorer.finish(now);
  }

  /**
   * Rebuilds an empty engine change by change, as a log replays them: each message
   * is one entry from its first record on (no copy of the state on the side), and
   * nothing is placed in the ready index, groups or due heap until `finish(now)`,
   * which places everything as {@link Engine.restore} does.
   */
  beginRestore(): EngineRestorer {
    if (this.#queues.size > 0 || !this.#schedules.empty) throw this.#errors.internal('Engine.beginRestore() needs an empty engine');
    let finished = false;
    // Claim, release and remove records name messages by id. A queue's id index is
    // built from its stored list at the first such record and kept up to date from
    // then on; until then a put is only an entry and a link. A log of sends alone
    // (or its snapshot's puts) is replayed without a map of a million ids.
    const entryOf = (queue: string, id: string) => this.#queues.get(queue)?.index().get(id);
    return {
      put: (queue, message) => {
        const q = this.#queue(queue);
        const entry = newEntry(message, q);
        entry.attempt = message.attempt;
        q.byId?.set(entry.id, entry);
        q.stored.push(entry);
      },
      claimed: (queue, id, attempt) => {
        const entry = entryOf(queue, id);
        if (entry) entry.attempt = attempt;
      },
      released: (queue, id, availableAt) => {
        const entry = entryOf(queue, id);
        if (entry) entry.availableAt = availableAt;
      },
      removed: (queue, id) => {
        const q = this.#queues.get(queue);
        const entry = q?.index().get(id);
        if (entry === undefined) return;
        q!.byId!.delete(id);
        q!.stored.remove(entry);
      },
      dedupe: (queue, key, id, until) => {
        const q = this.#queue(queue);
        q.dedupe.set(key, { id, until });
        q.dedupeOrder.push(key);
      },
      counters: (queue) => this.#queue(queue),
      schedule: (queue, schedule) => this.#schedules.put(queue, schedule),
      unschedule: (queue, id) => {
        this.#schedules.delete(queue, id);
      },
      lastToken: (token) => {
        this.#lastToken = token;
      },
      messageCount: () => {
        let n = 0;
        for (const q of this.#queues.values()) n += q.stored.size;
        return n;
      },
      abort: () => {
        finished = true;
        this.#queues.clear();
        this.#schedules.clear();
        this.#heap.clear();
        this.#lastToken = 0;
        for (let i = 0; i < this.#readyCount; i++) this.#ready[i]!.readyMarked = false;
        this.#readyCount = 0;
        for (let i = 0; i < this.#drainCount; i++) this.#drain[i]!.drainMarked = false;
        this.#drainCount = 0;
        this.#expired = undefined;
      },
      finish: (now) => {
        if (finished) return;
        finished = true;
        for (const q of this.#queues.values()) {
          // A forgotten queue comes back from its old records and then its zeroed counters.
          if (holdsNothing(q, now)) {
            this.#queues.delete(q.name);
            continue;
          }
          for (const entry of q.stored) this.#placeRestored(q, entry, now);
          // Nothing asks by id any more (see QueueState.byId); a queue that receives
          // dead-letter copies builds its index again at the next copy.
          q.byId = undefined;
        }
      },
    };
  }

  #placeRestored(q: QueueState, entry: Entry, now: number): void {
    if (entry.group !== undefined) {
      let members = q.groups.get(entry.group);
      if (!members) {
        members = new EntryList();
        q.groups.set(entry.group, members);
      }
      members.push(entry);
      if (members.head !== entry) {
        entry.state = EntryState.Grouped;
        q.groupedCount++;
        if (entry.expiresAt !== undefined) {
          entry.dueAt = entry.expiresAt;
          this.#heap.push(entry);
        }
        return;
      }
    }
    // Not #reschedule: an entry whose TTL ran out is placed anyway (due at once) so
    // that it expires through advance(), which tells the journal.
    this.#place(q, entry, now);
  }
}

/** The entry stored under `id`, by a walk of the stored list (the queue keeps no id index). */
function findStored(q: QueueState, id: string): Entry | undefined {
  for (let entry = q.stored.head; entry !== undefined; entry = entry.storedNext) if (entry.id === id) return entry;
  return undefined;
}

/**
 * True when a queue is indistinguishable from one never used: no message, no
 * dedupeId within its window, every counter 0. Such a queue is neither snapshotted
 * nor kept after a replay.
 */
function holdsNothing(q: QueueState, now: number): boolean {
  if (q.stored.size > 0 || q.sent + q.delivered + q.acked + q.retried + q.deadLettered + q.expired > 0) return false;
  for (const seen of q.dedupe.values()) if (seen.until > now) return false;
  return true;
}
