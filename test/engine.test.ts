/**
 * Focused Engine tests: each one pins a behaviour the model-based test
 * (engine.property.test.ts) once found broken, in the smallest form.
 */
import { describe, expect, it } from 'vitest';
import { Engine } from '../src/engine/engine.js';
import type { EnqueuePolicy, NewMessage } from '../src/storage/storage.js';

const policy: EnqueuePolicy = { maxLength: undefined, overflow: 'reject', deadLetter: false, dedupeWindow: 1_000 };

function message(id: string, fields: Partial<NewMessage> = {}): NewMessage {
  return {
    id,
    body: id,
    headers: undefined,
    priority: 0,
    enqueuedAt: 0,
    availableAt: 0,
    expiresAt: undefined,
    dedupeId: undefined,
    group: undefined,
    correlationId: undefined,
    subject: undefined,
    ...fields,
  };
}

const peekIds = (engine: Engine, queue: string, now: number) => engine.peek(queue, 100, now).map((m) => m.id);

describe('Engine', () => {
  it('.advance() - makes messages that fall due at the same time ready in send order', () => {
    const engine = new Engine();
    const ids = ['a', 'b', 'c', 'd', 'e'];
    engine.enqueue('jobs', ids.map((id) => message(id, { availableAt: 100 })), policy, 0);
    engine.advance(100);
    expect(peekIds(engine, 'jobs', 100)).toEqual(ids);
  });

  it('.advance() - keeps messages of different queues due at the same time in send order', () => {
    const engine = new Engine();
    engine.enqueue('other', [message('x', { expiresAt: 100 })], policy, 0);
    engine.enqueue('jobs', [message('a', { availableAt: 100 }), message('b', { availableAt: 100 })], policy, 0);
    expect(peekIds(engine, 'jobs', 100)).toEqual(['a', 'b']);
  });

  it('.advance() - applies each due change at its own time, so one late tick orders like many timely ones', () => {
    // g1 is leased until 4 and expires at 15; d is delayed until 10; g2 waits behind g1.
    // In time order: g1's lease ends (4), d becomes ready (10), g1 expires and lets g2 go (15).
    const setup = () => {
      const engine = new Engine();
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
    const engine = new Engine();
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

describe('Engine.enqueue() - dead-letter target', () => {
  it('refuses a policy whose deadLetter is the queue itself, storing nothing', () => {
    const engine = new Engine();
    const policy = { maxLength: 1, overflow: 'drop-oldest' as const, deadLetter: 'q', dedupeWindow: 0 };
    const message = { id: 'a', body: 1, headers: undefined, priority: 0, enqueuedAt: 0, availableAt: 0, expiresAt: undefined, dedupeId: undefined, group: undefined, correlationId: undefined, subject: undefined };
    expect(() => engine.enqueue('q', [message], policy, 0)).toThrow(/policy\.deadLetter/);
    expect(engine.stats('q', 0).sent).toBe(0);
  });
});
