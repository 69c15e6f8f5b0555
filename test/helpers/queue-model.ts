/**
 * The reference model of queue state that the model-based tests check the Engine
 * (test/engine.property.test.ts) and every Storage (test/storage.property.test.ts)
 * against, with the command parameters both draw from.
 *
 * The model is deliberately naive: one array of messages per queue, linear scans,
 * and time applied one due event at a time (earliest first; messages created
 * earlier first on a tie). It encodes the contract in DESIGN.md and the TSDoc of
 * src/storage/storage.ts, not the engine's data structures.
 */
import fc from 'fast-check';
import { DEAD_LETTER_HEADERS } from '../../src/dead-letter-headers.js';
import type { DeadLetterInfo, EnqueuePolicy, NewMessage, QueueStats, Receipt, ScheduleAdvance, Settle, StoredMessage, StoredSchedule } from '../../src/storage/storage.js';

/** Runs per property: `POCKETMQ_PROPERTY_RUNS`, 1,000 by default. */
export const RUNS = Number(process.env.POCKETMQ_PROPERTY_RUNS ?? 1_000);
export const SEED = process.env.POCKETMQ_PROPERTY_SEED === undefined ? undefined : Number(process.env.POCKETMQ_PROPERTY_SEED);
export const PATH = process.env.POCKETMQ_PROPERTY_PATH;
/** The `replayPath` printed inside the counterexample: which commands of the sequence ran. */
export const REPLAY = process.env.POCKETMQ_PROPERTY_REPLAY;

export const START = 1_000;
/**
 * Queues the commands act on, and where each dead-letters to. `fan` gets topic
 * fan-out copies alongside `q`. Targets are only observed (stats, peek). The
 * layout keeps ids unique per queue: a copy never meets an earlier copy of itself
 * (the engine renames such a copy, which the model leaves out).
 */
export const QUEUES = ['q', 'dlq', 'fan'] as const;
export const TARGET: Record<Queue, string> = { q: 'dlq', dlq: 'dead', fan: 'fan.dlq' };
export const OBSERVED = ['q', 'dlq', 'dead', 'fan', 'fan.dlq'] as const;
export type Queue = (typeof QUEUES)[number];

// ------------------------------------------------------------------------------ the model

export type State = 'ready' | 'delayed' | 'blocked' | 'inflight';

export interface ModelMessage {
  readonly id: string;
  /** Creation order across the whole storage: breaks ties between things due at the same time. */
  readonly seq: number;
  readonly message: NewMessage;
  availableAt: number;
  state: State;
  /** When it became ready; the ready order within a priority. */
  readyOrder: number;
  attempt: number;
  token: number;
  leaseUntil: number;
}

interface ModelQueue {
  messages: ModelMessage[];
  dedupe: { key: string; id: string; until: number }[];
  counters: { -readonly [K in Exclude<keyof QueueStats, 'ready' | 'delayed' | 'inflight'>]: number };
}

export interface ModelDeadLettered {
  id: string;
  reason: string;
  target: string | false;
}

/** A schedule as the model keeps it: what the storage compares and advances. */
export interface ModelSchedule {
  readonly id: string;
  readonly next: number;
  readonly last: number | undefined;
  readonly count: number;
  readonly policy: EnqueuePolicy;
}

export class Model {
  readonly queues = new Map<string, ModelQueue>();
  /** Per queue, its schedules by id. They are not messages: time does nothing to them. */
  readonly schedules = new Map<string, Map<string, ModelSchedule>>();
  #seq = 0;
  #readyOrder = 0;
  #token = 0;
  /** Expired since the last look, per queue: what the engine's 'expired' signals must carry. */
  expired = new Map<string, string[]>();
  /** Messages that became ready since the last look: the queue of each one still ready must have been signalled. */
  readied = new Map<ModelMessage, string>();

  queue(name: string): ModelQueue {
    let q = this.queues.get(name);
    if (!q) {
      q = { messages: [], dedupe: [], counters: { sent: 0, delivered: 0, acked: 0, retried: 0, deadLettered: 0, expired: 0 } };
      this.queues.set(name, q);
    }
    return q;
  }

  // -- time

  /** When the next thing happens to `m`, if anything is due for it. */
  static dueTime(m: ModelMessage): number | undefined {
    const expires = m.message.expiresAt;
    switch (m.state) {
      case 'inflight':
        return m.leaseUntil;
      case 'delayed':
        return expires === undefined ? m.availableAt : Math.min(m.availableAt, expires);
      default:
        return expires;
    }
  }

  nextDueAt(): number | undefined {
    let best: number | undefined;
    for (const q of this.queues.values()) {
      for (const m of q.messages) {
        const due = Model.dueTime(m);
        if (due !== undefined && (best === undefined || due < best)) best = due;
      }
    }
    return best;
  }

  /** Applies everything due by `now`, one event at a time, each at its own time. */
  advance(now: number): void {
    for (;;) {
      let next: { name: string; m: ModelMessage; at: number } | undefined;
      for (const [name, q] of this.queues) {
        for (const m of q.messages) {
          const at = Model.dueTime(m);
          if (at === undefined || at > now) continue;
          if (!next || at < next.at || (at === next.at && m.seq < next.m.seq)) next = { name, m, at };
        }
      }
      if (!next) return;
      const { name, m, at } = next;
      switch (m.state) {
        case 'inflight':
          // The lease ran out: deliverable again, attempts kept.
          m.token = 0;
          m.availableAt = at;
          this.#place(name, m, at);
          break;
        case 'delayed':
          this.#place(name, m, at);
          break;
        default:
          this.#expire(name, m, at);
      }
    }
  }

  // -- placement

  /** Puts a waiting message that no earlier group member holds back where its times say. */
  #place(name: string, m: ModelMessage, at: number): void {
    const expires = m.message.expiresAt;
    if (expires !== undefined && expires <= at) {
      this.#expire(name, m, at);
    } else if (m.availableAt > at) {
      m.state = 'delayed';
    } else {
      m.state = 'ready';
      m.readyOrder = ++this.#readyOrder;
      this.readied.set(m, name);
    }
  }

  #expire(name: string, m: ModelMessage, at: number): void {
    this.#remove(name, m, at);
    this.queue(name).counters.expired++;
    const list = this.expired.get(name) ?? [];
    list.push(m.id);
    this.expired.set(name, list);
  }

  /** Takes a message out of its queue; if it headed a FIFO group, the next member moves up. */
  #remove(name: string, m: ModelMessage, at: number): void {
    const q = this.queue(name);
    const group = q.messages.filter((o) => m.message.group !== undefined && o.message.group === m.message.group).sort((a, b) => a.seq - b.seq);
    q.messages.splice(q.messages.indexOf(m), 1);
    if (group[0] === m && group[1]) this.#place(name, group[1], at);
  }

  #insert(name: string, item: NewMessage, dedupeWindow: number, now: number): void {
    const q = this.queue(name);
    const m: ModelMessage = { id: item.id, seq: ++this.#seq, message: item, availableAt: item.availableAt, state: 'blocked', readyOrder: 0, attempt: 0, token: 0, leaseUntil: 0 };
    const heldBack = item.group !== undefined && q.messages.some((o) => o.message.group === item.group);
    q.messages.push(m);
    q.counters.sent++;
    if (item.dedupeId !== undefined) q.dedupe.push({ key: item.dedupeId, id: item.id, until: now + dedupeWindow });
    if (!heldBack) this.#place(name, m, now);
  }

  #deadLetter(name: string, m: ModelMessage, target: string | false, info: DeadLetterInfo, now: number): ModelDeadLettered {
    this.#remove(name, m, now);
    this.queue(name).counters.deadLettered++;
    if (target !== false) {
      const headers: Record<string, string> = { ...m.message.headers };
      headers[DEAD_LETTER_HEADERS.reason] = info.reason;
      if (info.error !== undefined) headers[DEAD_LETTER_HEADERS.error] = info.error;
      headers[DEAD_LETTER_HEADERS.queue] = name;
      headers[DEAD_LETTER_HEADERS.attempts] = String(m.attempt);
      headers[DEAD_LETTER_HEADERS.at] = String(now);
      const copy: NewMessage = {
        ...m.message,
        headers,
        enqueuedAt: now,
        availableAt: now,
        expiresAt: undefined,
        dedupeId: undefined,
      };
      this.#insert(target, copy, 0, now);
    }
    return { id: m.id, reason: info.reason, target };
  }

  /**
   * The storage was closed and opened again at `now` (FileStorage; docs/file-format.md,
   * "Recovery"): messages, attempts, counters and dedupe records survive; leases do not,
   * so what was in flight waits again, its receipts stale. Everything is placed anew in
   * the order it was stored, which becomes the ready order within a priority. Nothing
   * falls due during the reopen itself: what is due by `now` happens at the next operation.
   */
  reopen(now: number): void {
    for (const [name, q] of this.queues) {
      const heads = new Set<string>();
      for (const m of [...q.messages].sort((a, b) => a.seq - b.seq)) {
        m.token = 0;
        const group = m.message.group;
        if (group !== undefined && heads.has(group)) {
          m.state = 'blocked';
          continue;
        }
        if (group !== undefined) heads.add(group);
        if (m.availableAt > now) {
          m.state = 'delayed';
        } else {
          m.state = 'ready';
          m.readyOrder = ++this.#readyOrder;
          this.readied.set(m, name);
        }
      }
    }
  }

  // -- reading

  readyInOrder(name: string): ModelMessage[] {
    return this.queue(name)
      .messages.filter((m) => m.state === 'ready')
      .sort((a, b) => b.message.priority - a.message.priority || a.readyOrder - b.readyOrder);
  }

  #waiting(q: ModelQueue): ModelMessage[] {
    return q.messages.filter((m) => m.state !== 'inflight');
  }

  #leased(name: string, receipt: Receipt): ModelMessage | 'stale' | 'missing' {
    const m = this.queue(name).messages.find((o) => o.id === receipt.id);
    if (!m) return 'missing';
    return m.state === 'inflight' && m.token === receipt.token ? m : 'stale';
  }

  // -- operations, as the Engine has them

  enqueue(name: string, items: readonly NewMessage[], policy: EnqueuePolicy, now: number) {
    this.advance(now);
    const q = this.queue(name);
    const results: { id: string; status: 'stored' | 'duplicate' }[] = [];
    for (const [i, item] of items.entries()) {
      const key = item.dedupeId;
      // Within the window of a stored send: earlier calls, or earlier items of this batch (stored at `now`).
      const earlier = key === undefined ? undefined : q.dedupe.find((d) => d.key === key && d.until > now);
      const inBatch =
        key === undefined || policy.dedupeWindow <= 0 ? undefined : items.slice(0, i).find((o, j) => o.dedupeId === key && results[j]!.status === 'stored');
      if (earlier) results.push({ id: earlier.id, status: 'duplicate' });
      else if (inBatch) results.push({ id: inBatch.id, status: 'duplicate' });
      else results.push({ id: item.id, status: 'stored' });
    }
    const fresh = results.filter((r) => r.status === 'stored').length;
    if (policy.maxLength !== undefined && policy.overflow === 'reject' && this.#waiting(q).length + fresh > policy.maxLength) {
      return { results: undefined, full: true, dropped: [] as ModelDeadLettered[] };
    }
    for (const [i, item] of items.entries()) {
      if (results[i]!.status === 'stored') this.#insert(name, item, policy.dedupeWindow, now);
    }
    const dropped: ModelDeadLettered[] = [];
    while (policy.maxLength !== undefined && this.#waiting(q).length > policy.maxLength) {
      const ready = this.readyInOrder(name);
      const lowest = ready.length === 0 ? undefined : Math.min(...ready.map((m) => m.message.priority));
      const victim = ready.find((m) => m.message.priority === lowest) ?? this.#waiting(q).sort((a, b) => a.seq - b.seq)[0]!;
      dropped.push(this.#deadLetter(name, victim, policy.deadLetter, { reason: 'overflow' }, now));
    }
    return { results, full: false, dropped };
  }

  enqueueMany(names: readonly string[], items: readonly NewMessage[], dedupeWindow: number, now: number): void {
    this.advance(now);
    for (const name of names) {
      const q = this.queue(name);
      for (const item of items) {
        const key = item.dedupeId;
        if (key === undefined || !q.dedupe.some((d) => d.key === key && d.until > now)) this.#insert(name, item, dedupeWindow, now);
      }
    }
  }

  claim(name: string, max: number, leaseMs: number, maxAttempts: number, target: string | false, now: number) {
    this.advance(now);
    const q = this.queue(name);
    const delivered: { m: ModelMessage; receipt: Receipt }[] = [];
    const deadLettered: ModelDeadLettered[] = [];
    while (delivered.length < max) {
      const m = this.readyInOrder(name)[0];
      if (!m) break;
      if (m.attempt >= maxAttempts) {
        deadLettered.push(this.#deadLetter(name, m, target, { reason: 'max-attempts', error: 'lease expired' }, now));
        continue;
      }
      m.state = 'inflight';
      m.attempt++;
      m.token = ++this.#token;
      m.leaseUntil = now + leaseMs;
      q.counters.delivered++;
      delivered.push({ m, receipt: { id: m.id, token: m.token } });
    }
    return { delivered, deadLettered };
  }

  ack(name: string, receipts: readonly Receipt[], now: number): Settle[] {
    this.advance(now);
    return receipts.map((receipt) => {
      const m = this.#leased(name, receipt);
      if (typeof m === 'string') return m;
      this.#remove(name, m, now);
      this.queue(name).counters.acked++;
      return 'ok';
    });
  }

  release(name: string, receipt: Receipt, dueAt: number, now: number): Settle {
    this.advance(now);
    const m = this.#leased(name, receipt);
    if (typeof m === 'string') return m;
    this.queue(name).counters.retried++;
    m.token = 0;
    m.availableAt = dueAt;
    this.#place(name, m, now);
    return 'ok';
  }

  deadLetter(name: string, receipt: Receipt, target: string | false, info: DeadLetterInfo, now: number): Settle {
    this.advance(now);
    const m = this.#leased(name, receipt);
    if (typeof m === 'string') return m;
    this.#deadLetter(name, m, target, info, now);
    return 'ok';
  }

  extend(name: string, receipt: Receipt, leaseUntil: number, now: number): Settle {
    this.advance(now);
    const m = this.#leased(name, receipt);
    if (typeof m === 'string') return m;
    m.leaseUntil = leaseUntil;
    return 'ok';
  }

  purge(name: string, now: number): number {
    this.advance(now);
    const q = this.queue(name);
    const before = q.messages.length;
    q.messages = q.messages.filter((m) => m.state === 'inflight');
    return before - q.messages.length;
  }

  stats(name: string, now: number): QueueStats {
    this.advance(now);
    const q = this.queue(name);
    const count = (...states: State[]) => q.messages.filter((m) => states.includes(m.state)).length;
    return { ready: count('ready', 'blocked'), delayed: count('delayed'), inflight: count('inflight'), ...q.counters };
  }

  peek(name: string, max: number, now: number): ModelMessage[] {
    this.advance(now);
    return this.readyInOrder(name).slice(0, max);
  }

  /** A waiting message removed by id, counting nowhere; in flight or absent: false. */
  remove(name: string, id: string, now: number): boolean {
    this.advance(now);
    const m = this.queue(name).messages.find((o) => o.id === id);
    if (!m || m.state === 'inflight') return false;
    this.#remove(name, m, now);
    return true;
  }

  /**
   * Up to `max` ready messages, each time the first in delivery order that does not stay,
   * back to their `x-original-queue` as new messages: attempt 0, no dedupeId or TTL, the
   * dead-letter headers replaced by `x-redrive-count`.
   */
  redrive(name: string, max: number, now: number): number {
    this.advance(now);
    const stay = new Set<ModelMessage>();
    let moved = 0;
    while (moved < max) {
      const m = this.readyInOrder(name).find((o) => !stay.has(o));
      if (!m) break;
      const target = m.message.headers?.[DEAD_LETTER_HEADERS.queue];
      if (target === undefined || target === name) {
        stay.add(m);
        continue;
      }
      this.#remove(name, m, now);
      const headers: Record<string, string> = { ...m.message.headers };
      for (const key of [DEAD_LETTER_HEADERS.reason, DEAD_LETTER_HEADERS.error, DEAD_LETTER_HEADERS.queue, DEAD_LETTER_HEADERS.attempts, DEAD_LETTER_HEADERS.at]) delete headers[key];
      headers[DEAD_LETTER_HEADERS.redriveCount] = String(Number(m.message.headers?.[DEAD_LETTER_HEADERS.redriveCount] ?? 0) + 1);
      this.#insert(target, { ...m.message, headers, enqueuedAt: now, availableAt: now, expiresAt: undefined, dedupeId: undefined }, 0, now);
      moved++;
    }
    return moved;
  }

  // -- schedules

  putSchedule(name: string, schedule: ModelSchedule): void {
    let schedules = this.schedules.get(name);
    if (!schedules) this.schedules.set(name, (schedules = new Map()));
    schedules.set(schedule.id, schedule);
  }

  deleteSchedule(name: string, id: string): boolean {
    return this.schedules.get(name)?.delete(id) ?? false;
  }

  /** Compare-and-set: enqueues the items under the stored policy and advances, only if `next` is the expected one. */
  fireSchedule(name: string, id: string, expectedNext: number, update: ScheduleAdvance, items: readonly NewMessage[], now: number) {
    const schedule = this.schedules.get(name)?.get(id);
    if (schedule === undefined || schedule.next !== expectedNext) return 'stale' as const;
    const result = items.length === 0 ? { results: [], full: false, dropped: [] as ModelDeadLettered[] } : this.enqueue(name, items, schedule.policy, now);
    if (update.next === undefined) this.deleteSchedule(name, id);
    else this.putSchedule(name, { ...schedule, next: update.next, last: update.last, count: update.count });
    return result;
  }

  /** Every queue's schedules, by queue then id, as `listSchedules(undefined)` gives them. */
  listSchedules(): { queue: string; id: string; next: number; last: number | undefined; count: number }[] {
    const out: { queue: string; id: string; next: number; last: number | undefined; count: number }[] = [];
    for (const name of [...this.schedules.keys()].sort()) {
      const schedules = this.schedules.get(name)!;
      for (const id of [...schedules.keys()].sort()) {
        const { next, last, count } = schedules.get(id)!;
        out.push({ queue: name, id, next, last, count });
      }
    }
    return out;
  }
}

/** What a storage's schedules look like to the model. */
export function scheduleView(entries: readonly { queue: string; schedule: StoredSchedule }[]) {
  return entries.map(({ queue, schedule: { id, next, last, count } }) => ({ queue, id, next, last, count }));
}

/** A stored schedule for the model-based tests: an `every` schedule of body `{ id }` on `policy`. */
export function modelSchedule(id: string, next: number, policy: EnqueuePolicy): StoredSchedule {
  return { id, every: 10, cron: undefined, tz: undefined, next, last: undefined, count: 0, body: { id }, options: {}, policy };
}

/** What a storage's messages look like from outside (identity and live records aside). */
export function view(m: StoredMessage) {
  return { id: m.id, attempt: m.attempt, priority: m.priority, group: m.group, headers: m.headers, body: m.body, enqueuedAt: m.enqueuedAt, expiresAt: m.expiresAt };
}

export function modelView(m: ModelMessage) {
  return view({ ...m.message, attempt: m.attempt });
}

export const queueArb = fc.constantFrom<Queue>('q', 'q', 'dlq', 'fan');
/** Queues that receive dead letters (with their origin in their headers): what a redrive starts from. */
export const REDRIVE_SOURCES = ['dlq', 'dead', 'fan.dlq'] as const;
export type RedriveSource = (typeof REDRIVE_SOURCES)[number];
export const targetArb = fc.boolean();
export const scheduleIdArb = fc.constantFrom('s1', 's2');

export interface ItemSpec {
  priority: number;
  delay: number;
  ttl: number | undefined;
  group: string | undefined;
  dedupeId: string | undefined;
  header: boolean;
}

export const itemArb: fc.Arbitrary<ItemSpec> = fc.record({
  priority: fc.integer({ min: -1, max: 2 }),
  delay: fc.constantFrom(0, 0, 0, 3, 10, 25),
  ttl: fc.constantFrom(undefined, undefined, undefined, 4, 15, 60),
  group: fc.constantFrom(undefined, undefined, 'g1', 'g2'),
  dedupeId: fc.constantFrom(undefined, undefined, undefined, 'd1', 'd2'),
  header: fc.boolean(),
});

/** Messages from specs, with fresh ids, sent at the world's `now`. */
export function newMessages(world: { now: number; nextId: number }, specs: readonly ItemSpec[]): NewMessage[] {
  const { now } = world;
  return specs.map((spec) => ({
    id: `m${++world.nextId}`,
    body: { n: world.nextId },
    headers: spec.header ? { kind: 'test' } : undefined,
    priority: spec.priority,
    enqueuedAt: now,
    availableAt: now + spec.delay,
    expiresAt: spec.ttl === undefined ? undefined : now + spec.ttl,
    dedupeId: spec.dedupeId,
    group: spec.group,
    correlationId: undefined,
    subject: undefined,
  }));
}

/** How an ack names its lease: the current receipt, the same one twice, or a token no lease ever had. */
export type AckHow = 'once' | 'twice' | 'forged';

/** Builds one test's command objects from the shared parameters; see {@link commandArbitraries}. */
export interface CommandMakers<C> {
  enqueue(queue: Queue, items: ItemSpec[], maxLength: number | undefined, overflow: 'reject' | 'drop-oldest', toTarget: boolean, dedupeWindow: number): C;
  /** Topic fan-out: a copy into each queue, dedupe per queue, no bounds. */
  enqueueMany(queues: Queue[], items: ItemSpec[], dedupeWindow: number): C;
  claim(queue: Queue, max: number, leaseMs: number, maxAttempts: number, toTarget: boolean): C;
  /** `pick` chooses among every delivery so far (modulo their number): current or stale. */
  ack(pick: number, how: AckHow): C;
  release(pick: number, delay: number): C;
  deadLetter(pick: number, toTarget: boolean, error: string | undefined): C;
  extend(pick: number, ms: number): C;
  /** Time passes with nobody looking: the next operation applies everything due meanwhile. */
  wait(ms: number): C;
  /** The scheduler's tick: applies what is due without any other operation. */
  tick(): C;
  purge(queue: Queue): C;
  stats(queue: Queue): C;
  peek(queue: Queue, max: number): C;
  /** Stores (or replaces) schedule `id` of `queue`, its next tick `offset` ms from now, its sends bounded by `maxLength`. */
  schedule(queue: Queue, id: string, offset: number, maxLength: number | undefined, toTarget: boolean): C;
  /**
   * Fires schedule `id`: with the `next` the storage holds, or (`stale`) with one it does
   * not; sends `items`; its next tick `step` ms later, or none (`undefined`: it is removed).
   */
  fireSchedule(queue: Queue, id: string, stale: boolean, items: ItemSpec[], step: number | undefined): C;
  unschedule(queue: Queue, id: string): C;
  /** Removes message number `pick` (modulo the ids handed out so far) from `queue`, if it waits there. */
  remove(queue: Queue, pick: number): C;
  redrive(source: RedriveSource, max: number): C;
}

/** The command set every model-based test draws from, so the engine and each storage meet the same sequences. */
export function commandArbitraries<C>(make: CommandMakers<C>): fc.Arbitrary<C>[] {
  return [
    fc
      .tuple(
        queueArb,
        fc.array(itemArb, { minLength: 1, maxLength: 3 }),
        fc.constantFrom(undefined, undefined, 1, 3, 5),
        fc.constantFrom('reject' as const, 'drop-oldest' as const),
        targetArb,
        fc.constantFrom(0, 8, 40),
      )
      .map((args) => make.enqueue(...args)),
    fc
      .tuple(fc.constantFrom<Queue[]>(['fan'], ['q', 'fan'], ['fan', 'q']), fc.array(itemArb, { minLength: 1, maxLength: 2 }), fc.constantFrom(0, 8, 40))
      .map((args) => make.enqueueMany(...args)),
    fc
      .tuple(queueArb, fc.integer({ min: 1, max: 3 }), fc.constantFrom(4, 10, 30), fc.integer({ min: 1, max: 3 }), targetArb)
      .map((args) => make.claim(...args)),
    fc.tuple(fc.nat(), fc.constantFrom<AckHow>('once', 'once', 'twice', 'forged')).map((args) => make.ack(...args)),
    fc.tuple(fc.nat(), fc.constantFrom(0, 0, 2, 12)).map((args) => make.release(...args)),
    fc.tuple(fc.nat(), targetArb, fc.constantFrom(undefined, 'boom')).map((args) => make.deadLetter(...args)),
    fc.tuple(fc.nat(), fc.constantFrom(0, 3, 20)).map((args) => make.extend(...args)),
    fc.constantFrom(0, 1, 2, 3, 5, 8, 15, 40).map((ms) => make.wait(ms)),
    fc.constant(null).map(() => make.tick()),
    queueArb.map((q) => make.purge(q)),
    queueArb.map((q) => make.stats(q)),
    fc.tuple(queueArb, fc.integer({ min: 1, max: 4 })).map((args) => make.peek(...args)),
    fc
      .tuple(queueArb, scheduleIdArb, fc.constantFrom(0, 5, 20), fc.constantFrom(undefined, undefined, 1, 3), targetArb)
      .map((args) => make.schedule(...args)),
    fc
      .tuple(queueArb, scheduleIdArb, fc.boolean(), fc.array(itemArb, { minLength: 0, maxLength: 2 }), fc.constantFrom(undefined, 1, 10))
      .map((args) => make.fireSchedule(...args)),
    fc.tuple(queueArb, scheduleIdArb).map((args) => make.unschedule(...args)),
    fc.tuple(queueArb, fc.nat()).map((args) => make.remove(...args)),
    fc.tuple(fc.constantFrom(...REDRIVE_SOURCES), fc.integer({ min: 1, max: 3 })).map((args) => make.redrive(...args)),
  ];
}
