/**
 * Model-based test of the Engine (fast-check `commands`): random sequences of
 * enqueue, claim, ack, release, deadLetter, extend, purge, time passing, stats and
 * peek run against the engine and against the reference model, and every
 * observable result must agree.
 *
 * The model and the command parameters are in test/helpers/queue-model.ts, shared
 * with test/storage.property.test.ts, which runs the same commands on every Storage.
 *
 * Runs: 1,000 by default. More: `POCKETMQ_PROPERTY_RUNS=10000 npx vitest run test/engine.property.test.ts`.
 * Replay a failure with the seed, path and replayPath from its report:
 * `POCKETMQ_PROPERTY_SEED=<seed> POCKETMQ_PROPERTY_PATH=<path> POCKETMQ_PROPERTY_REPLAY=<replayPath>`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Engine } from '../src/engine/engine.js';
import { DEAD_LETTER_HEADERS } from '../src/dead-letter-headers.js';
import { ENGINE_ERRORS } from '../src/storage/engine-storage.js';
import { isName } from '../src/validate.js';
import type { EnqueuePolicy, Receipt } from '../src/storage/storage.js';
import {
  type AckHow,
  commandArbitraries,
  type ItemSpec,
  Model,
  modelSchedule,
  modelView,
  newMessages,
  OBSERVED,
  PATH,
  type Queue,
  type RedriveSource,
  REPLAY,
  RUNS,
  scheduleView,
  SEED,
  START,
  TARGET,
  view,
} from './helpers/queue-model.js';

const MAX_COMMANDS = Number(process.env.POCKETMQ_PROPERTY_COMMANDS ?? 100);

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
    readonly how: AckHow,
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

class ScheduleCommand implements Cmd {
  constructor(
    readonly queue: Queue,
    readonly id: string,
    readonly offset: number,
    readonly maxLength: number | undefined,
    readonly toTarget: boolean,
  ) {}
  check = () => true;
  run(world: World, engine: Engine): void {
    const policy: EnqueuePolicy = { maxLength: this.maxLength, overflow: 'reject', deadLetter: this.toTarget ? TARGET[this.queue] : false, dedupeWindow: 8 };
    const schedule = modelSchedule(this.id, world.now + this.offset, policy);
    engine.putSchedule(this.queue, schedule);
    world.model.putSchedule(this.queue, { id: this.id, next: schedule.next, last: undefined, count: 0, policy });
    expect(scheduleView(engine.listSchedules(undefined)), 'schedules').toEqual(world.model.listSchedules());
    compareAll(world, engine);
  }
  toString(): string {
    return `schedule(${this.queue}, ${this.id}, +${this.offset}, maxLength=${this.maxLength}, dlq=${this.toTarget})`;
  }
}

class FireScheduleCommand implements Cmd {
  constructor(
    readonly queue: Queue,
    readonly id: string,
    readonly stale: boolean,
    readonly items: ItemSpec[],
    readonly step: number | undefined,
  ) {}
  check = () => true;
  run(world: World, engine: Engine): void {
    const { now } = world;
    const stored = world.model.schedules.get(this.queue)?.get(this.id);
    const expectedNext = (stored?.next ?? now) + (this.stale ? 1 : 0);
    const items = newMessages(world, this.items);
    const update = { next: this.step === undefined ? undefined : expectedNext + this.step, last: expectedNext, count: (stored?.count ?? 0) + items.length };
    const actual = engine.fireSchedule(this.queue, this.id, expectedNext, update, items, now);
    const expected = world.model.fireSchedule(this.queue, this.id, expectedNext, update, items, now);
    if (expected === 'stale') {
      expect(actual, 'fire result').toBe('stale');
    } else {
      expect(actual, 'fire result').not.toBe('stale');
      if (actual === 'stale') return;
      expect(actual.full, 'full').toBe(expected.full);
      if (!expected.full) expect(actual.results, 'fire results').toEqual(expected.results);
    }
    expect(scheduleView(engine.listSchedules(undefined)), 'schedules').toEqual(world.model.listSchedules());
    compareAll(world, engine);
  }
  toString(): string {
    return `fireSchedule(${this.queue}, ${this.id}, stale=${this.stale}, [${this.items.map((s) => JSON.stringify(s)).join(',')}], step=${this.step})`;
  }
}

class UnscheduleCommand implements Cmd {
  constructor(
    readonly queue: Queue,
    readonly id: string,
  ) {}
  check = () => true;
  run(world: World, engine: Engine): void {
    expect(engine.deleteSchedule(this.queue, this.id), 'unschedule').toBe(world.model.deleteSchedule(this.queue, this.id));
    expect(scheduleView(engine.listSchedules(undefined)), 'schedules').toEqual(world.model.listSchedules());
    compareAll(world, engine);
  }
  toString(): string {
    return `unschedule(${this.queue}, ${this.id})`;
  }
}

class RemoveCommand implements Cmd {
  constructor(
    readonly queue: Queue,
    readonly pick: number,
  ) {}
  check = () => true;
  run(world: World, engine: Engine): void {
    const id = `m${1 + (this.pick % Math.max(1, world.nextId))}`;
    expect(engine.remove(this.queue, id, world.now), `remove ${id}`).toBe(world.model.remove(this.queue, id, world.now));
    compareAll(world, engine);
  }
  toString(): string {
    return `remove(${this.queue}, ${this.pick})`;
  }
}

class RedriveCommand implements Cmd {
  constructor(
    readonly source: RedriveSource,
    readonly max: number,
  ) {}
  check = () => true;
  run(world: World, engine: Engine): void {
    const moved = engine.redrive(this.source, { max: this.max, to: undefined }, isName, world.now);
    expect(moved, 'redrive').toBe(world.model.redrive(this.source, this.max, world.now));
    compareAll(world, engine);
  }
  toString(): string {
    return `redrive(${this.source}, ${this.max})`;
  }
}

const commands = commandArbitraries<Cmd>({
  enqueue: (...args) => new EnqueueCommand(...args),
  enqueueMany: (...args) => new EnqueueManyCommand(...args),
  claim: (...args) => new ClaimCommand(...args),
  ack: (...args) => new AckCommand(...args),
  release: (...args) => new ReleaseCommand(...args),
  deadLetter: (...args) => new DeadLetterCommand(...args),
  extend: (...args) => new ExtendCommand(...args),
  wait: (ms) => new WaitCommand(ms),
  tick: () => new TickCommand(),
  purge: (queue) => new PurgeCommand(queue),
  stats: (queue) => new StatsCommand(queue),
  peek: (...args) => new PeekCommand(...args),
  schedule: (...args) => new ScheduleCommand(...args),
  fireSchedule: (...args) => new FireScheduleCommand(...args),
  unschedule: (...args) => new UnscheduleCommand(...args),
  remove: (...args) => new RemoveCommand(...args),
  redrive: (...args) => new RedriveCommand(...args),
});

describe('Engine against the reference model', () => {
  it(
    'agrees with the model on every result of any sequence of operations',
    () => {
      fc.assert(
        fc.property(fc.commands(commands, { maxCommands: MAX_COMMANDS, size: 'max', replayPath: REPLAY }), (cmds) => {
          const setup = () => ({ model: { model: new Model(), now: START, nextId: 0, deliveries: [] } as World, real: new Engine(DEAD_LETTER_HEADERS, ENGINE_ERRORS) });
          fc.modelRun(setup, cmds);
        }),
        { numRuns: RUNS, seed: SEED, path: PATH, endOnFailure: PATH === undefined ? undefined : true },
      );
    },
    Math.max(60_000, RUNS * 60),
  );
});
