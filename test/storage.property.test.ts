/**
 * Model-based test of every Storage (fast-check `commands`): the command set of
 * test/engine.property.test.ts, driven through the `Storage` interface against
 * MemoryStorage, FileStorage and RedisStorage (on a redis-server of its own), and
 * checked after every command against the same reference model
 * (test/helpers/queue-model.ts). The storages that keep data across a close also
 * meet `reopen`: close and open the same data again; the model says what survives
 * (see {@link Model.reopen}).
 *
 * Runs: `POCKETMQ_PROPERTY_RUNS` per storage (1,000 by default) of up to
 * `POCKETMQ_PROPERTY_STORAGE_COMMANDS` commands (40). Replay a failure as the
 * engine test does (CONTRIBUTING.md).
 */
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileStorage } from '../src/file.js';
import { RedisStorage } from '../src/redis.js';
import { MemoryStorage } from '../src/memory/memory-storage.js';
import type { EnqueuePolicy, Receipt, Storage } from '../src/storage/storage.js';
import { TestClock } from '../src/test-clock.js';
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
import { startRedis, type RedisServer } from './helpers/redis-server.js';

const MAX_COMMANDS = Number(process.env.POCKETMQ_PROPERTY_STORAGE_COMMANDS ?? 40);

/**
 * Where FileStorage runs keep their directories: a tmpfs when there is one. Opening a
 * directory fsyncs it, ~40 ms a run on a disk; this test checks what the log keeps, and
 * test/file-crash.test.ts what the disk keeps.
 */
const SCRATCH = ((): string => {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
})();

/** The storage under test, and how to close and open it again when it can be. */
interface Subject {
  storage: Storage;
  readonly clock: TestClock;
  /** A new storage on the same data. */
  readonly make: () => Storage;
  /**
   * What survives closing the storage and opening its data again: nothing (memory),
   * what the log keeps (file), or everything, leases included (Redis: the state lives
   * in the server).
   */
  readonly survives: 'nothing' | 'log' | 'everything';
  /** Ids of the messages reported by 'expired' signals since the last look, per queue. */
  expired: Map<string, string[]>;
}

/** The model's side plus what the commands share: the time and every receipt handed out so far. */
interface World {
  model: Model;
  now: number;
  nextId: number;
  deliveries: { queue: Queue; real: Receipt; model: Receipt }[];
}

type Cmd = fc.AsyncCommand<World, Subject>;

/** Starts listening for 'expired' signals on the subject's current storage. */
function watchExpired(subject: Subject): void {
  subject.storage.watch((signal) => {
    if (signal.type !== 'expired') return;
    const ids = subject.expired.get(signal.queue) ?? [];
    for (const m of signal.messages) ids.push(m.id);
    subject.expired.set(signal.queue, ids);
  });
}

/** Compares what both sides would show a user right now. Reading advances both to `now`. */
async function compareAll(world: World, subject: Subject): Promise<void> {
  const { model, now } = world;
  const { storage } = subject;
  // All at once: on Redis they leave in one write and cost one round trip.
  const [looks, schedules] = await Promise.all([
    Promise.all(OBSERVED.map(async (name) => ({ name, stats: await storage.stats(name, now), peek: await storage.peek(name, 1_000, now) }))),
    storage.listSchedules!(undefined, now),
  ]);
  for (const { name, stats, peek } of looks) {
    expect(stats, `stats of ${name}`).toEqual(model.stats(name, now));
    expect(peek.map(view), `peek of ${name}`).toEqual(model.peek(name, 1_000, now).map(modelView));
  }
  expect(scheduleView(schedules), 'schedules').toEqual(model.listSchedules());
  compareExpired(world, subject);
}

/**
 * Every message the model expired since the last look was reported by an 'expired'
 * signal, and nothing else was. Called once every observed queue was read: RedisStorage
 * finds a queue's expiries when an operation touches that queue, not at any operation.
 */
function compareExpired(world: World, subject: Subject): void {
  const sorted = (m: Map<string, string[]>) => new Map([...m].map(([name, ids]) => [name, [...ids].sort()]));
  expect(sorted(subject.expired), 'expired signals').toEqual(sorted(world.model.expired));
  subject.expired = new Map();
  world.model.expired = new Map();
  world.model.readied = new Map();
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
  async run(world: World, subject: Subject): Promise<void> {
    const { now } = world;
    const items = newMessages(world, this.items);
    const policy: EnqueuePolicy = {
      maxLength: this.maxLength,
      overflow: this.overflow,
      deadLetter: this.toTarget ? TARGET[this.queue] : false,
      dedupeWindow: this.dedupeWindow,
    };
    const actual = await subject.storage.enqueue(this.queue, items, policy, now);
    const expected = world.model.enqueue(this.queue, items, policy, now);
    expect(actual.full, 'full').toBe(expected.full);
    if (!expected.full) expect(actual.results, 'enqueue results').toEqual(expected.results);
    expect(actual.dropped.map((d) => ({ id: d.message.id, reason: d.reason, target: d.target })), 'dropped').toEqual(expected.dropped);
    await compareAll(world, subject);
  }
  toString(): string {
    const spec = this.items.map((s) => JSON.stringify(s)).join(',');
    return `enqueue(${this.queue}, [${spec}], maxLength=${this.maxLength}, ${this.overflow}, dlq=${this.toTarget}, window=${this.dedupeWindow})`;
  }
}

class EnqueueManyCommand implements Cmd {
  constructor(
    readonly queues: Queue[],
    readonly items: ItemSpec[],
    readonly dedupeWindow: number,
  ) {}
  check = () => true;
  async run(world: World, subject: Subject): Promise<void> {
    const items = newMessages(world, this.items);
    await subject.storage.enqueueMany(this.queues, items, this.dedupeWindow, world.now);
    world.model.enqueueMany(this.queues, items, this.dedupeWindow, world.now);
    await compareAll(world, subject);
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
  async run(world: World, subject: Subject): Promise<void> {
    const { now } = world;
    const target = this.toTarget ? TARGET[this.queue] : false;
    const actual = await subject.storage.claim(this.queue, { max: this.max, leaseMs: this.leaseMs, maxAttempts: this.maxAttempts, deadLetter: target }, now);
    const expected = world.model.claim(this.queue, this.max, this.leaseMs, this.maxAttempts, target, now);
    expect(actual.delivered.map((d) => view(d.message)), 'delivered').toEqual(expected.delivered.map((d) => modelView(d.m)));
    expect(actual.deadLettered.map((d) => ({ id: d.message.id, reason: d.reason, target: d.target })), 'dead-lettered by claim').toEqual(expected.deadLettered);
    for (const [i, d] of actual.delivered.entries()) world.deliveries.push({ queue: this.queue, real: d.receipt, model: expected.delivered[i]!.receipt });
    await compareAll(world, subject);
  }
  toString(): string {
    return `claim(${this.queue}, max=${this.max}, lease=${this.leaseMs}, maxAttempts=${this.maxAttempts}, dlq=${this.toTarget})`;
  }
}

/** A settle (ack, release, deadLetter, extend) of a past delivery: the current lease or a stale one. */
abstract class SettleCommand implements Cmd {
  constructor(readonly pick: number) {}
  check = () => true;
  abstract settle(world: World, storage: Storage, delivery: World['deliveries'][number]): Promise<void>;
  async run(world: World, subject: Subject): Promise<void> {
    if (world.deliveries.length === 0) return;
    await this.settle(world, subject.storage, world.deliveries[this.pick % world.deliveries.length]!);
    await compareAll(world, subject);
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
  async settle(world: World, storage: Storage, d: World['deliveries'][number]): Promise<void> {
    // A forged receipt names the message with a token no lease ever had.
    const forged = { id: d.real.id, token: -1 };
    const real = this.how === 'twice' ? [d.real, d.real] : this.how === 'forged' ? [forged] : [d.real];
    const model = this.how === 'twice' ? [d.model, d.model] : this.how === 'forged' ? [forged] : [d.model];
    expect(await storage.ack(d.queue, real, world.now), 'ack').toEqual(world.model.ack(d.queue, model, world.now));
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
  async settle(world: World, storage: Storage, d: World['deliveries'][number]): Promise<void> {
    const { now } = world;
    expect(await storage.release(d.queue, d.real, now + this.delay, now), 'release').toBe(world.model.release(d.queue, d.model, now + this.delay, now));
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
  async settle(world: World, storage: Storage, d: World['deliveries'][number]): Promise<void> {
    const { now } = world;
    const target = this.toTarget ? TARGET[d.queue] : false;
    const info = { reason: 'rejected', error: this.error };
    expect(await storage.deadLetter(d.queue, d.real, target, info, now), 'deadLetter').toBe(world.model.deadLetter(d.queue, d.model, target, info, now));
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
  async settle(world: World, storage: Storage, d: World['deliveries'][number]): Promise<void> {
    const { now } = world;
    expect(await storage.extend(d.queue, d.real, now + this.ms, now), 'extend').toBe(world.model.extend(d.queue, d.model, now + this.ms, now));
  }
  toString(): string {
    return `extend(#${this.pick}, ${this.ms})`;
  }
}

class WaitCommand implements Cmd {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(world: World): Promise<void> {
    world.now += this.ms;
  }
  toString(): string {
    return `wait(${this.ms})`;
  }
}

class TickCommand implements Cmd {
  check = () => true;
  async run(world: World, subject: Subject): Promise<void> {
    await subject.storage.tick(world.now);
    world.model.advance(world.now);
  }
  toString(): string {
    return 'tick';
  }
}

class PurgeCommand implements Cmd {
  constructor(readonly queue: Queue) {}
  check = () => true;
  async run(world: World, subject: Subject): Promise<void> {
    expect(await subject.storage.purge(this.queue, world.now), 'purge').toBe(world.model.purge(this.queue, world.now));
    await compareAll(world, subject);
  }
  toString(): string {
    return `purge(${this.queue})`;
  }
}

class StatsCommand implements Cmd {
  constructor(readonly queue: Queue) {}
  check = () => true;
  async run(world: World, subject: Subject): Promise<void> {
    expect(await subject.storage.stats(this.queue, world.now), 'stats').toEqual(world.model.stats(this.queue, world.now));
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
  async run(world: World, subject: Subject): Promise<void> {
    const { now } = world;
    expect((await subject.storage.peek(this.queue, this.max, now)).map(view), 'peek').toEqual(world.model.peek(this.queue, this.max, now).map(modelView));
  }
  toString(): string {
    return `peek(${this.queue}, ${this.max})`;
  }
}

/**
 * Closes the storage and opens its data again at `now`: a process restart. On Redis the
 * state lives in the server, so nothing changes, leases included; on a storage that
 * keeps nothing across a close, the command does nothing.
 */
class ScheduleCommand implements Cmd {
  constructor(
    readonly queue: Queue,
    readonly id: string,
    readonly offset: number,
    readonly maxLength: number | undefined,
    readonly toTarget: boolean,
  ) {}
  check = () => true;
  async run(world: World, subject: Subject): Promise<void> {
    const policy: EnqueuePolicy = { maxLength: this.maxLength, overflow: 'reject', deadLetter: this.toTarget ? TARGET[this.queue] : false, dedupeWindow: 8 };
    const schedule = modelSchedule(this.id, world.now + this.offset, policy);
    await subject.storage.putSchedule!(this.queue, schedule, world.now);
    world.model.putSchedule(this.queue, { id: this.id, next: schedule.next, last: undefined, count: 0, policy });
    await compareAll(world, subject);
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
  async run(world: World, subject: Subject): Promise<void> {
    const { now } = world;
    const stored = world.model.schedules.get(this.queue)?.get(this.id);
    const expectedNext = (stored?.next ?? now) + (this.stale ? 1 : 0);
    const items = newMessages(world, this.items);
    const update = { next: this.step === undefined ? undefined : expectedNext + this.step, last: expectedNext, count: (stored?.count ?? 0) + items.length };
    const actual = await subject.storage.fireSchedule!(this.queue, this.id, expectedNext, update, items, now);
    const expected = world.model.fireSchedule(this.queue, this.id, expectedNext, update, items, now);
    if (expected === 'stale') {
      expect(actual, 'fire result').toBe('stale');
    } else {
      expect(actual, 'fire result').not.toBe('stale');
      if (actual === 'stale') return;
      expect(actual.full, 'full').toBe(expected.full);
      if (!expected.full) expect(actual.results, 'fire results').toEqual(expected.results);
    }
    await compareAll(world, subject);
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
  async run(world: World, subject: Subject): Promise<void> {
    expect(await subject.storage.deleteSchedule!(this.queue, this.id, world.now), 'unschedule').toBe(world.model.deleteSchedule(this.queue, this.id));
    await compareAll(world, subject);
  }
  toString(): string {
    return `unschedule(${this.queue}, ${this.id})`;
  }
}

class ReopenCommand implements Cmd {
  check = () => true;
  async run(world: World, subject: Subject): Promise<void> {
    if (subject.survives === 'nothing') return;
    await subject.storage.close();
    await subject.clock.set(world.now);
    subject.storage = subject.make();
    await subject.storage.open();
    watchExpired(subject);
    if (subject.survives === 'log') world.model.reopen(world.now);
    await compareAll(world, subject);
  }
  toString(): string {
    return 'reopen';
  }
}

class RemoveCommand implements Cmd {
  constructor(
    readonly queue: Queue,
    readonly pick: number,
  ) {}
  check = () => true;
  async run(world: World, subject: Subject): Promise<void> {
    const id = `m${1 + (this.pick % Math.max(1, world.nextId))}`;
    expect(await subject.storage.remove!(this.queue, id, world.now), `remove ${id}`).toBe(world.model.remove(this.queue, id, world.now));
    await compareAll(world, subject);
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
  async run(world: World, subject: Subject): Promise<void> {
    const moved = await subject.storage.redrive!(this.source, { max: this.max, to: undefined }, world.now);
    expect(moved, 'redrive').toBe(world.model.redrive(this.source, this.max, world.now));
    await compareAll(world, subject);
  }
  toString(): string {
    return `redrive(${this.source}, ${this.max})`;
  }
}

const commands = [
  ...commandArbitraries<Cmd>({
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
  }),
  fc.constant(null).map(() => new ReopenCommand()),
];

/** A storage for one run: how to make it on its data, what survives a reopen, and what removes its traces afterwards. */
type Open = (clock: TestClock) => Pick<Subject, 'make' | 'survives'> & { cleanup?: () => void };

/** Runs the property on storages that `open` makes, one per run. */
async function checkAgainstModel(open: Open): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.commands(commands, { maxCommands: MAX_COMMANDS, size: 'max', replayPath: REPLAY }), async (cmds) => {
      const clock = new TestClock(START);
      const { make, survives, cleanup } = open(clock);
      const subject: Subject = { storage: make(), make, survives, clock, expired: new Map() };
      watchExpired(subject);
      try {
        const world: World = { model: new Model(), now: START, nextId: 0, deliveries: [] };
        await fc.asyncModelRun(() => ({ model: world, real: subject }), cmds);
      } finally {
        await subject.storage.close();
        cleanup?.();
      }
    }),
    { numRuns: RUNS, seed: SEED, path: PATH, endOnFailure: PATH === undefined ? undefined : true },
  );
}

/** Time allowed per property: generous, since runs scale with POCKETMQ_PROPERTY_RUNS. */
const TIMEOUT = Math.max(120_000, RUNS * 300);

describe('Storage against the reference model', () => {
  it(
    'MemoryStorage agrees with the model on every result of any sequence of operations',
    async () => {
      await checkAgainstModel((clock) => ({ make: () => new MemoryStorage({ clock }), survives: 'nothing' }));
    },
    TIMEOUT,
  );

  it(
    'FileStorage agrees with the model on every result, across close and reopen',
    async () => {
      await checkAgainstModel((clock) => {
        const dir = mkdtempSync(join(SCRATCH, 'pocketmq-model-'));
        return {
          make: () => new FileStorage({ dir, clock, fsync: 'never' }),
          survives: 'log',
          cleanup: () => rmSync(dir, { recursive: true, force: true }),
        };
      });
    },
    TIMEOUT,
  );

  describe('RedisStorage', () => {
    let server: RedisServer;
    let prefixes = 0;

    beforeAll(async () => {
      server = await startRedis();
    });

    afterAll(async () => {
      await server?.close();
    });

    it(
      'agrees with the model on every result, across close and reopen',
      async () => {
        await checkAgainstModel((clock) => {
          const prefix = `model${++prefixes}`;
          return { make: () => new RedisStorage({ url: server.url, prefix, clock }), survives: 'everything' };
        });
      },
      TIMEOUT,
    );
  });
});
