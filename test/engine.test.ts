/**
 * Focused Engine tests: each one pins a behaviour the model-based test
 * (engine.property.test.ts) once found broken, in the smallest form.
 */
import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_HEADERS } from '../src/dead-letter-headers.js';
import { ENGINE_ERRORS } from '../src/storage/engine-storage.js';
import { Engine } from '../src/engine/engine.js';
import type { EnqueuePolicy, NewMessage } from '../src/storage/storage.js';
import { newMessage } from './helpers/new-message.js';

const policy: EnqueuePolicy = { maxLength: undefined, overflow: 'reject', deadLetter: false, dedupeWindow: 1_000 };

function message(id: string, fields: Partial<NewMessage> = {}): NewMessage {
  return newMessage(id, 0, { body: id, ...fields });
}

const peekIds = (engine: Engine, queue: string, now: number) => engine.peek(queue, 100, now).map((m) => m.id);

describe('Engine', () => {
  it('.advance() - makes messages that fall due at the same time ready in send order', () => {
    const engine = new Engine(DEAD_LETTER_HEADERS, ENGINE_ERRORS);
    const ids = ['a', 'b', 'c', 'd', 'e'];
    engine.enqueue('jobs', ids.map((id) => message(id, { availableAt: 100 })), policy, 0);
    engine.advance(100);
    expect(peekIds(engine, 'jobs', 100)).toEqual(ids);
  });

  it('.advance() - keeps messages of different queues due at the same time in send order', () => {
    const engine = new Engine(DEAD_LETTER_HEADERS, ENGINE_ERRORS);
    engine.enqueue('other', [message('x', { expiresAt: 100 })], policy, 0);
    engine.enqueue('jobs', [message('a', { availableAt: 100 }), message('b', { availableAt: 100 })], policy, 0);
    expect(peekIds(engine, 'jobs', 100)).toEqual(['a', 'b']);
  });

  it('.advance() - applies each due change at its own time, so one late tick orders like many timely ones', () => {
    // g1 is leased until 4 and expires at 15; d is delayed until 10; g2 waits behind g1.
    // In time order: g1's lease ends (4), d becomes ready (10), g1 expires and lets g2 go (15).
    const setup = () => {
      const engine = new Engine(DEAD_LETTER_HEADERS, ENGINE_ERRORS);
      engine.enqueue('jobs', [message('g1', { group: 'g', expiresAt: 15 }), message('x')], policy, 0);
      engine.claim('jobs', { max: 1, leaseMs: 4, maxAttempts: 5, deadLetter: false }, 0);
      engine.enqueue('jobs', [message('d', { availableAt: 10 }), message('g2', { group: 'g' })], policy, 0);
      return engine;
    };
    const stepwise = setup();
    for (const t of [4, 10, 15, 40]) stepwise.advance(t);
    const late = setup();
    late.advance(40);
    expect(peekIds(stepwise, 'jobs', 40)).toEqual(['x', 'd', 'g2']);
    expect(peekIds(late, 'jobs', 40)).toEqual(['x', 'd', 'g2']);
  });

  it('.enqueue() - with dedupeWindow 0 stores every item of a batch, as it does across calls', () => {
    const engine = new Engine(DEAD_LETTER_HEADERS, ENGINE_ERRORS);
    const noWindow = { ...policy, dedupeWindow: 0 };
    const batch = engine.enqueue('jobs', [message('a', { dedupeId: 'd' }), message('b', { dedupeId: 'd' })], noWindow, 0);
    expect(batch.results).toEqual([
      { id: 'a', status: 'stored' },
      { id: 'b', status: 'stored' },
    ]);
    const later = engine.enqueue('jobs', [message('c', { dedupeId: 'd' })], noWindow, 0);
    expect(later.results).toEqual([{ id: 'c', status: 'stored' }]);
    expect(engine.stats('jobs', 0)).toMatchObject({ ready: 3, sent: 3 });
  });
});

describe('Engine.forget()', () => {
  const claim = { max: 1, leaseMs: 1_000, maxAttempts: 3, deadLetter: false as const };

  it('.forget() - drops a queue that holds nothing: its counters start again from 0', () => {
    const engine = new Engine(DEAD_LETTER_HEADERS, ENGINE_ERRORS);
    engine.enqueue('jobs', [message('a')], policy, 0);
    const [delivery] = engine.claim('jobs', claim, 0).delivered;
    engine.ack('jobs', [delivery!.receipt], 0);
    expect(engine.queueCount).toBe(1);
    expect(engine.forget('jobs', 0)).toBe(true);
    expect(engine.queueCount).toBe(0);
    expect(engine.stats('jobs', 0)).toMatchObject({ sent: 0, delivered: 0, acked: 0 });
    expect(engine.forget('never-used', 0)).toBe(true);
  });

  it('.forget() - keeps a queue that holds a message (ready or in flight) or a dedupeId within its window', () => {
    const engine = new Engine(DEAD_LETTER_HEADERS, ENGINE_ERRORS);
    engine.enqueue('ready', [message('a')], policy, 0);
    engine.enqueue('leased', [message('b')], policy, 0);
    engine.claim('leased', claim, 0);
    engine.enqueue('deduped', [message('c', { dedupeId: 'k' })], policy, 0);
    engine.purge('deduped', 0);
    for (const queue of ['ready', 'leased', 'deduped']) expect(engine.forget(queue, 10)).toBe(false);
    expect(engine.stats('deduped', 10).sent).toBe(1);
    // Past the dedupe window (1,000 ms) nothing is remembered any more.
    expect(engine.forget('deduped', 1_000)).toBe(true);
    expect(engine.queueCount).toBe(2);
  });

  it('.exportState() - leaves out queues indistinguishable from unused ones, keeps empty ones with counters', () => {
    const engine = new Engine(DEAD_LETTER_HEADERS, ENGINE_ERRORS);
    engine.enqueue('used', [message('a')], policy, 0);
    engine.purge('used', 0);
    engine.stats('looked-at', 0);
    engine.enqueue('forgotten', [message('b')], policy, 0);
    engine.purge('forgotten', 0);
    engine.forget('forgotten', 0);
    expect([...engine.exportState(0).queues].map((q) => q.name)).toEqual(['used']);
  });
});

describe('Engine.enqueue() - dead-letter target', () => {
  it('refuses a policy whose deadLetter is the queue itself, storing nothing', () => {
    const engine = new Engine(DEAD_LETTER_HEADERS, ENGINE_ERRORS);
    const policy = { maxLength: 1, overflow: 'drop-oldest' as const, deadLetter: 'q', dedupeWindow: 0 };
    const message = { id: 'a', body: 1, headers: undefined, priority: 0, enqueuedAt: 0, availableAt: 0, expiresAt: undefined, dedupeId: undefined, group: undefined, correlationId: undefined, subject: undefined };
    expect(() => engine.enqueue('q', [message], policy, 0)).toThrow(/policy\.deadLetter/);
    expect(engine.stats('q', 0).sent).toBe(0);
  });
});

describe('Engine - finding messages without an id index', () => {
  const claim = { max: 10, leaseMs: 1_000, maxAttempts: 5, deadLetter: false as const };

  it('answers a receipt it did not hand out by id: ok, then missing; stale for an old lease', () => {
    const engine = new Engine(DEAD_LETTER_HEADERS, ENGINE_ERRORS);
    engine.enqueue('jobs', [message('a'), message('b')], policy, 0);
    const [a, b] = engine.claim('jobs', claim, 0).delivered.map((d) => ({ id: d.receipt.id, token: d.receipt.token }));
    expect(engine.ack('jobs', [a!], 0)).toEqual(['ok']);
    expect(engine.ack('jobs', [a!], 0)).toEqual(['missing']);
    // b's lease runs out and b is leased again: the old plain receipt is stale.
    engine.claim('jobs', claim, 2_000);
    expect(engine.ack('jobs', [b!], 2_000)).toEqual(['stale']);
    expect(engine.ack('other', [b!], 2_000)).toEqual(['missing']);
  });

  it('tells missing from stale for its own leases: acked is missing, redelivered is stale', () => {
    const engine = new Engine(DEAD_LETTER_HEADERS, ENGINE_ERRORS);
    engine.enqueue('jobs', [message('a'), message('b')], policy, 0);
    const [a, b] = engine.claim('jobs', claim, 0).delivered.map((d) => d.receipt);
    expect(engine.ack('jobs', [a!], 0)).toEqual(['ok']);
    expect(engine.ack('jobs', [a!], 0)).toEqual(['missing']);
    const [again] = engine.claim('jobs', claim, 2_000).delivered;
    expect(again!.message.id).toBe('b');
    expect(engine.release('jobs', b!, 2_000, 2_000)).toBe('stale');
    expect(engine.ack('jobs', [again!.receipt], 2_000)).toEqual(['ok']);
  });

  it('renames a dead-letter copy that meets an earlier copy of itself (fan-out copies share an id)', () => {
    const engine = new Engine(DEAD_LETTER_HEADERS, ENGINE_ERRORS);
    engine.enqueueMany(['s1', 's2'], [message('x')], 0, 0);
    for (const queue of ['s1', 's2']) {
      const [d] = engine.claim(queue, claim, 0).delivered;
      expect(engine.deadLetter(queue, d!.receipt, 'dlq', { reason: 'rejected' }, 0)).toBe('ok');
    }
    const ids = engine.peek('dlq', 10, 0).map((m) => m.id);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe('x');
    expect(ids[1]).toMatch(/^x:\d+$/);
  });

  it('purges and drops the oldest waiting message in the order stored when nothing is ready', () => {
    const engine = new Engine(DEAD_LETTER_HEADERS, ENGINE_ERRORS);
    engine.enqueue('jobs', [message('a'), message('d1', { availableAt: 50 }), message('d2', { availableAt: 40 })], policy, 0);
    engine.claim('jobs', { ...claim, max: 1 }, 0);
    const dropOldest = { maxLength: 2, overflow: 'drop-oldest' as const, deadLetter: false as const, dedupeWindow: 0 };
    const { dropped } = engine.enqueue('jobs', [message('d3', { availableAt: 60 })], dropOldest, 0);
    expect(dropped.map((d) => d.message.id)).toEqual(['d1']);
    expect(engine.purge('jobs', 0)).toBe(2);
    expect(engine.stats('jobs', 0)).toMatchObject({ ready: 0, delayed: 0, inflight: 1 });
  });
});

describe('Engine - restoring without an id index until records name ids', () => {
  const claim = { max: 10, leaseMs: 1_000, maxAttempts: 5, deadLetter: false as const };
  const stored = (id: string) => ({ ...message(id), attempt: 0 });

  it('finds messages put before the first claim, release or remove, and those put after it', () => {
    const engine = new Engine(DEAD_LETTER_HEADERS, ENGINE_ERRORS);
    const restorer = engine.beginRestore();
    restorer.put('jobs', stored('a'));
    restorer.put('jobs', stored('b'));
    restorer.put('jobs', stored('c'));
    restorer.claimed('jobs', 'b', 2);
    restorer.put('jobs', stored('d'));
    restorer.released('jobs', 'd', 500);
    restorer.removed('jobs', 'a');
    restorer.removed('jobs', 'd');
    restorer.removed('jobs', 'unknown');
    restorer.claimed('other', 'b', 7);
    expect(restorer.messageCount()).toBe(2);
    restorer.finish(0);
    expect(peekIds(engine, 'jobs', 0)).toEqual(['b', 'c']);
    const delivered = engine.claim('jobs', claim, 0).delivered;
    expect(delivered.map((d) => [d.message.id, d.message.attempt])).toEqual([
      ['b', 3],
      ['c', 1],
    ]);
    expect(engine.ack('jobs', delivered.map((d) => ({ id: d.receipt.id, token: d.receipt.token })), 0)).toEqual(['ok', 'ok']);
  });

  it('renames a dead-letter copy that meets a restored copy of itself', () => {
    const engine = new Engine(DEAD_LETTER_HEADERS, ENGINE_ERRORS);
    const restorer = engine.beginRestore();
    restorer.put('dlq', stored('x'));
    restorer.put('jobs', stored('x'));
    restorer.finish(0);
    const [d] = engine.claim('jobs', claim, 0).delivered;
    expect(engine.deadLetter('jobs', d!.receipt, 'dlq', { reason: 'rejected' }, 0)).toBe('ok');
    const ids = peekIds(engine, 'dlq', 0);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe('x');
    expect(ids[1]).toMatch(/^x:\d+$/);
  });
});
