/**
 * Model-based test of the Engine (fast-check `commands`): random sequences of
 * enqueue, claim, ack, release, deadLetter, extend, purge, time passing, stats and
 * peek run against the engine and against the reference model below, and every
 * observable result must agree.
 *
 * The model is deliberately naive: one array of messages per queue, linear scans,
 * and time applied one due event at a time (earliest first; messages created
 * earlier first on a tie). It encodes the contract in DESIGN.md and the TSDoc of
 * src/storage/storage.ts, not the engine's data structures.
 *
 * Runs: 1,000 by default. More: `POCKETMQ_PROPERTY_RUNS=10000 npx vitest run test/engine.property.test.ts`.
 * Replay a failure with the seed, path and replayPath from its report:
 * `POCKETMQ_PROPERTY_SEED=<seed> POCKETMQ_PROPERTY_PATH=<path> POCKETMQ_PROPERTY_REPLAY=<replayPath>`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_HEADERS, Engine } from '../src/engine/engine.js';
import type { DeadLetterInfo, EnqueuePolicy, NewMessage, QueueStats, Receipt, Settle, StoredMessage } from '../src/storage/storage.js';

const RUNS = Number(process.env.POCKETMQ_PROPERTY_RUNS ?? 1_000);
const SEED = process.env.POCKETMQ_PROPERTY_SEED === undefined ? undefined : Number(process.env.POCKETMQ_PROPERTY_SEED);
const PATH = process.env.POCKETMQ_PROPERTY_PATH;
/** The `replayPath` printed inside the counterexample: which commands of the sequence ran. */
const REPLAY = process.env.POCKETMQ_PROPERTY_REPLAY;
const MAX_COMMANDS = Number(process.env.POCKETMQ_PROPERTY_COMMANDS ?? 100);

const START = 1_000;
/**
 * Queues the commands act on, and where each dead-letters to. `fan` gets topic
 * fan-out copies alongside `q`. Targets are only observed (stats, peek). The
 * layout keeps ids unique per queue: a copy never meets an earlier copy of itself
 * (the engine renames such a copy, which the model leaves out).
 */
const QUEUES = ['q', 'dlq', 'fan'] as const;
const TARGET: Record<Queue, string> = { q: 'dlq', dlq: 'dead', fan: 'fan.dlq' };
const OBSERVED = ['q', 'dlq', 'dead', 'fan', 'fan.dlq'] as const;
type Queue = (typeof QUEUES)[number];

// ------------------------------------------------------------------------------ the model

type State = 'ready' | 'delayed' | 'blocked' | 'inflight';

interface ModelMessage {
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

interface ModelDeadLettered {
  id: string;
  reason: string;
  target: string | false;
}

class Model {
  readonly queues = new Map<string, ModelQueue>();
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
}

// ----------------------------------------------------------------------- the commands

/** Both sides plus what the commands share: the time and every receipt handed out so far. */
interface World {
  model: Model;
  now: number;
  nextId: number;
  deliveries: { queue: Queue; engine: Receipt; model: Receipt }[];
  /** Messages per observed queue (ready, delayed or in flight) at the last look at the signals. */
  totals?: Map<string, number>;
}

type Cmd = fc.Command<World, Engine>;

/** What the engine's messages look like from outside (identity and live records aside). */
function view(m: StoredMessage) {
  return { id: m.id, attempt: m.attempt, priority: m.priority, group: m.group, headers: m.headers, body: m.body, enqueuedAt: m.enqueuedAt, expiresAt: m.expiresAt };
}

function modelView(m: ModelMessage) {
  return view({ ...m.message, attempt: m.attempt });
}

/** Compares what both sides would show a user right now. Reading advances both to `now`. */
function compareAll(world: World, engine: Engine): void {
  const { model, now } = world;
  for (const name of OBSERVED) {
    expect(engine.stats(name, now), `stats of ${name}`).toEqual(model.stats(name, now));
    expect(engine.peek(name, 1_000, now).map(view), `peek of ${name}`).toEqual(model.peek(name, 1_000, now).map(modelView));
  }
  compareSignals(world, engine);
}

/**
 * The engine's signals since the last look: every expiry reported, every queue that
 * got ready work woken, and every queue that became empty reported drained (and none
 * that is not empty).
 */
function compareSignals(world: World, engine: Engine): void {
  const { model } = world;
  expect(engine.nextDueAt(), 'nextDueAt').toBe(model.nextDueAt());
  const ready = engine.takeReady();
  const expired = new Map<string, string[]>();
  for (const [name, messages] of engine.takeExpired() ?? []) expired.set(name, messages.map((m) => m.id).sort());
  const expected = new Map<string, string[]>();
  for (const [name, ids] of model.expired) expected.set(name, [...ids].sort());
  expect(expired, 'expired signals').toEqual(expected);
  for (const [m, name] of model.readied) {
    if (m.state === 'ready' && model.queue(name).messages.includes(m)) expect(ready.includes(name), `ready signal for ${name}`).toBe(true);
  }
  model.expired = new Map();
  model.readied = new Map();
  const drained = engine.takeDrained();
  const totals = new Map<string, number>();
  for (const name of OBSERVED) {
    const s = model.stats(name, world.now);
    const total = s.ready + s.delayed + s.inflight;
    totals.set(name, total);
    if (total === 0 && (world.totals?.get(name) ?? 0) > 0) expect(drained.includes(name), `drained signal for ${name}`).toBe(true);
  }
  for (const name of drained) expect(totals.get(name), `${name} signalled drained`).toBe(0);
  world.totals = totals;
}

const queueArb = fc.constantFrom<Queue>('q', 'q', 'dlq', 'fan');
const targetArb = fc.boolean();

interface ItemSpec {
  priority: number;
  delay: number;
  ttl: number | undefined;
  group: string | undefined;
  dedupeId: string | undefined;
  header: boolean;
}

const itemArb: fc.Arbitrary<ItemSpec> = fc.record({
  priority: fc.integer({ min: -1, max: 2 }),
  delay: fc.constantFrom(0, 0, 0, 3, 10, 25),
  ttl: fc.constantFrom(undefined, undefined, undefined, 4, 15, 60),
  group: fc.constantFrom(undefined, undefined, 'g1', 'g2'),
  dedupeId: fc.constantFrom(undefined, undefined, undefined, 'd1', 'd2'),
  header: fc.boolean(),
});

/** Messages from specs, with fresh ids, sent at the world's `now`. */
function newMessages(world: World, specs: readonly ItemSpec[]): NewMessage[] {
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

class EnqueueCommand implements Cmd {
  constructor(
    readonly queue: Queue,
    readonly items: ItemSpec[],
    readonly maxLength: number | undefined,
    readonly overflow: 'reject' | 'drop-oldest',
    readonly toTarget: boolean,
    readonly dedupeWindow: number,
  ) {}
  check = () => true;
  run(world: World, engine: Engine): void {
    const { now } = world;
    const items = newMessages(world, this.items);
    const policy: EnqueuePolicy = {
      maxLength: this.maxLength,
      overflow: this.overflow,
      deadLetter: this.toTarget ? TARGET[this.queue] : false,
      dedupeWindow: this.dedupeWindow,
    };
    const actual = engine.enqueue(this.queue, items, policy, now);
    const expected = world.model.enqueue(this.queue, items, policy, now);
    expect(actual.full, 'full').toBe(expected.full);
    if (!expected.full) expect(actual.results, 'enqueue results').toEqual(expected.results);
    expect(actual.dropped.map((d) => ({ id: d.message.id, reason: d.reason, target: d.target })), 'dropped').toEqual(expected.dropped);
    compareAll(world, engine);
  }
  toString(): string {
    const spec = this.items.map((s) => JSON.stringify(s)).join(',');
    return `enqueue(${this.queue}, [${spec}], maxLength=${this.maxLength}, ${this.overflow}, dlq=${this.toTarget}, window=${this.dedupeWindow})`;
  }
}

/** Topic fan-out: a copy into each queue, dedupe per queue, no bounds. */
class EnqueueManyCommand implements Cmd {
  constructor(
    readonly queues: Queue[],
    readonly items: ItemSpec[],
    readonly dedupeWindow: number,
  ) {}
  check = () => true;
  run(world: World, engine: Engine): void {
    const items = newMessages(world, this.items);
    engine.enqueueMany(this.queues, items, this.dedupeWindow, world.now);
    world.model.enqueueMany(this.queues, items, this.dedupeWindow, world.now);
    compareAll(world, engine);
  }
  toString(): string {
    return `enqueueMany([${this.queues.join(',')}], [${this.items.map((s) => JSON.stringify(s)).join(',')}], window=${this.dedupeWindow})`;
  }
}

class ClaimCommand implements Cmd {
  constructor(
    readonly queue: Queue,
    readonly max: number,
    readonly leaseMs: number,
    readonly maxAttempts: number,
    readonly toTarget: boolean,
  ) {}
  check = () => true;
  run(world: World, engine: Engine): void {
    const { now } = world;
    const target = this.toTarget ? TARGET[this.queue] : false;
    const actual = engine.claim(this.queue, { max: this.max, leaseMs: this.leaseMs, maxAttempts: this.maxAttempts, deadLetter: target }, now);
    const expected = world.model.claim(this.queue, this.max, this.leaseMs, this.maxAttempts, target, now);
    expect(actual.delivered.map((d) => view(d.message)), 'delivered').toEqual(expected.delivered.map((d) => modelView(d.m)));
    expect(actual.deadLettered.map((d) => ({ id: d.message.id, reason: d.reason, target: d.target })), 'dead-lettered by claim').toEqual(expected.deadLettered);
    for (const [i, d] of actual.delivered.entries()) world.deliveries.push({ queue: this.queue, engine: d.receipt, model: expected.delivered[i]!.receipt });
    compareAll(world, engine);
  }
  toString(): string {
    return `claim(${this.queue}, max=${this.max}, lease=${this.leaseMs}, maxAttempts=${this.maxAttempts}, dlq=${this.toTarget})`;
  }
}

/** A settle (ack, release, deadLetter, extend) of a past delivery: the current lease or a stale one. */
abstract class SettleCommand implements Cmd {
  constructor(readonly pick: number) {}
  check = () => true;
  abstract settle(world: World, engine: Engine, delivery: World['deliveries'][number]): void;
  run(world: World, engine: Engine): void {
    if (world.deliveries.length === 0) return;
    this.settle(world, engine, world.deliveries[this.pick % world.deliveries.length]!);
    compareAll(world, engine);
  }
  abstract toString(): string;
}

class AckCommand extends SettleCommand {
  constructor(
    pick: number,
    readonly how: 'once' | 'twice' | 'forged',
  ) {
    super(pick);
  }
  settle(world: World, engine: Engine, d: World['deliveries'][number]): void {
    // A forged receipt names the message with a token no lease ever had.
    const forged = { id: d.engine.id, token: -1 };
    const engineReceipts = this.how === 'twice' ? [d.engine, d.engine] : this.how === 'forged' ? [forged] : [d.engine];
    const modelReceipts = this.how === 'twice' ? [d.model, d.model] : this.how === 'forged' ? [forged] : [d.model];
    expect(engine.ack(d.queue, engineReceipts, world.now), 'ack').toEqual(world.model.ack(d.queue, modelReceipts, world.now));
  }
  toString(): string {
    return `ack(#${this.pick}, ${this.how})`;
  }
}

class ReleaseCommand extends SettleCommand {
  constructor(
    pick: number,
    readonly delay: number,
  ) {
    super(pick);
  }
  settle(world: World, engine: Engine, d: World['deliveries'][number]): void {
    const { now } = world;
    expect(engine.release(d.queue, d.engine, now + this.delay, now), 'release').toBe(world.model.release(d.queue, d.model, now + this.delay, now));
  }
  toString(): string {
    return `release(#${this.pick}, delay=${this.delay})`;
  }
}

class DeadLetterCommand extends SettleCommand {
  constructor(
    pick: number,
    readonly toTarget: boolean,
    readonly error: string | undefined,
  ) {
    super(pick);
  }
  settle(world: World, engine: Engine, d: World['deliveries'][number]): void {
    const { now } = world;
    const target = this.toTarget ? TARGET[d.queue] : false;
    const info = { reason: 'rejected', error: this.error };
    expect(engine.deadLetter(d.queue, d.engine, target, info, now), 'deadLetter').toBe(world.model.deadLetter(d.queue, d.model, target, info, now));
  }
  toString(): string {
    return `deadLetter(#${this.pick}, dlq=${this.toTarget}, error=${this.error})`;
  }
}

class ExtendCommand extends SettleCommand {
  constructor(
    pick: number,
    readonly ms: number,
  ) {
    super(pick);
  }
  settle(world: World, engine: Engine, d: World['deliveries'][number]): void {
    const { now } = world;
    expect(engine.extend(d.queue, d.engine, now + this.ms, now), 'extend').toBe(world.model.extend(d.queue, d.model, now + this.ms, now));
  }
  toString(): string {
    return `extend(#${this.pick}, ${this.ms})`;
  }
}

/** Time passes with nobody looking: the next operation applies everything due meanwhile. */
class WaitCommand implements Cmd {
  constructor(readonly ms: number) {}
  check = () => true;
  run(world: World): void {
    world.now += this.ms;
  }
  toString(): string {
    return `wait(${this.ms})`;
  }
}

/** The scheduler's tick: applies what is due without any other operation. */
class TickCommand implements Cmd {
  check = () => true;
  run(world: World, engine: Engine): void {
    engine.advance(world.now);
    world.model.advance(world.now);
    compareSignals(world, engine);
  }
  toString(): string {
    return 'tick';
  }
}

class PurgeCommand implements Cmd {
  constructor(readonly queue: Queue) {}
  check = () => true;
  run(world: World, engine: Engine): void {
    expect(engine.purge(this.queue, world.now), 'purge').toBe(world.model.purge(this.queue, world.now));
    compareAll(world, engine);
  }
  toString(): string {
    return `purge(${this.queue})`;
  }
}

class StatsCommand implements Cmd {
  constructor(readonly queue: Queue) {}
  check = () => true;
  run(world: World, engine: Engine): void {
    expect(engine.stats(this.queue, world.now), 'stats').toEqual(world.model.stats(this.queue, world.now));
    compareSignals(world, engine);
  }
  toString(): string {
    return `stats(${this.queue})`;
  }
}

class PeekCommand implements Cmd {
  constructor(
    readonly queue: Queue,
    readonly max: number,
  ) {}
  check = () => true;
  run(world: World, engine: Engine): void {
    const { now } = world;
    expect(engine.peek(this.queue, this.max, now).map(view), 'peek').toEqual(world.model.peek(this.queue, this.max, now).map(modelView));
    compareSignals(world, engine);
  }
  toString(): string {
    return `peek(${this.queue}, ${this.max})`;
  }
}

const commands = [
  fc
    .tuple(
      queueArb,
      fc.array(itemArb, { minLength: 1, maxLength: 3 }),
      fc.constantFrom(undefined, undefined, 1, 3, 5),
      fc.constantFrom('reject' as const, 'drop-oldest' as const),
      targetArb,
      fc.constantFrom(0, 8, 40),
    )
    .map((args) => new EnqueueCommand(...args)),
  fc
    .tuple(fc.constantFrom<Queue[]>(['fan'], ['q', 'fan'], ['fan', 'q']), fc.array(itemArb, { minLength: 1, maxLength: 2 }), fc.constantFrom(0, 8, 40))
    .map((args) => new EnqueueManyCommand(...args)),
  fc
    .tuple(queueArb, fc.integer({ min: 1, max: 3 }), fc.constantFrom(4, 10, 30), fc.integer({ min: 1, max: 3 }), targetArb)
    .map((args) => new ClaimCommand(...args)),
  fc.tuple(fc.nat(), fc.constantFrom('once' as const, 'once' as const, 'twice' as const, 'forged' as const)).map((args) => new AckCommand(...args)),
  fc.tuple(fc.nat(), fc.constantFrom(0, 0, 2, 12)).map((args) => new ReleaseCommand(...args)),
  fc.tuple(fc.nat(), targetArb, fc.constantFrom(undefined, 'boom')).map((args) => new DeadLetterCommand(...args)),
  fc.tuple(fc.nat(), fc.constantFrom(0, 3, 20)).map((args) => new ExtendCommand(...args)),
  fc.constantFrom(0, 1, 2, 3, 5, 8, 15, 40).map((ms) => new WaitCommand(ms)),
  fc.constant(new TickCommand()),
  queueArb.map((q) => new PurgeCommand(q)),
  queueArb.map((q) => new StatsCommand(q)),
  fc.tuple(queueArb, fc.integer({ min: 1, max: 4 })).map((args) => new PeekCommand(...args)),
];

describe('Engine against the reference model', () => {
  it(
    'agrees with the model on every result of any sequence of operations',
    () => {
      fc.assert(
        fc.property(fc.commands(commands, { maxCommands: MAX_COMMANDS, size: 'max', replayPath: REPLAY }), (cmds) => {
          const setup = () => ({ model: { model: new Model(), now: START, nextId: 0, deliveries: [] } as World, real: new Engine() });
          fc.modelRun(setup, cmds);
        }),
        { numRuns: RUNS, seed: SEED, path: PATH, endOnFailure: PATH === undefined ? undefined : true },
      );
    },
    Math.max(60_000, RUNS * 60),
  );
});
