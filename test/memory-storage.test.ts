import { describe, expect, it } from 'vitest';
import { systemClock } from '../src/clock.js';
import { MemoryStorage } from '../src/memory/memory-storage.js';
import type { NewMessage } from '../src/storage/storage.js';
import { TestClock } from '../src/test-clock.js';
import { describeStorage } from './storage-contract.js';

describeStorage('MemoryStorage', async (clock) => ({ storage: new MemoryStorage({ clock }) }));

function message(id: string, body: unknown): NewMessage {
  return {
    id,
    body,
    headers: undefined,
    priority: 0,
    enqueuedAt: 0,
    availableAt: 0,
    expiresAt: undefined,
    dedupeId: undefined,
    group: undefined,
    correlationId: undefined,
    subject: undefined,
  };
}

describe('MemoryStorage', () => {
  it('keeps bodies by reference, without copying them', async () => {
    const storage = new MemoryStorage({ clock: new TestClock() });
    const body = { items: [1, 2, 3], at: new Date(0), fn: () => 'kept' };
    await storage.enqueue('jobs', [message('a', body)], { maxLength: undefined, overflow: 'reject', deadLetter: false, dedupeWindow: 0 }, 0);
    const [peeked] = await storage.peek('jobs', 1, 0);
    expect(peeked!.body).toBe(body);
    const { delivered } = await storage.claim('jobs', { max: 1, leaseMs: 1_000, maxAttempts: 3, deadLetter: false }, 0);
    expect(delivered[0]!.message.body).toBe(body);
  });

  it('.sentNow() - answers at once what stats() reports as sent, and nothing once closed', async () => {
    const storage = new MemoryStorage({ clock: new TestClock() });
    expect(storage.sentNow('jobs')).toBe(0);
    await storage.enqueue('jobs', [message('a', 1), message('b', 2)], { maxLength: undefined, overflow: 'reject', deadLetter: false, dedupeWindow: 0 }, 0);
    await storage.enqueueMany(['jobs', 'other'], [message('c', 3)], 0, 0);
    expect(storage.sentNow('jobs')).toBe(3);
    expect(storage.sentNow('jobs')).toBe((await storage.stats('jobs', 0)).sent);
    expect(storage.sentNow('other')).toBe(1);
    await storage.close();
    expect(storage.sentNow('jobs')).toBeUndefined();
  });

  it("signals 'drained' when a queue's last message goes, and only then", async () => {
    const storage = new MemoryStorage({ clock: new TestClock() });
    expect(storage.capabilities).toEqual({ drainedSignals: true, appliesAtCall: true, checksBodies: true, settlesAtCall: true });
    const drained: string[] = [];
    storage.watch((signal) => {
      if (signal.type === 'drained') drained.push(signal.queue);
    });
    const policy = { maxLength: undefined, overflow: 'reject' as const, deadLetter: false as const, dedupeWindow: 0 };
    await storage.enqueue('jobs', [message('a', 1), message('b', 2), { ...message('c', 3), expiresAt: 100 }], policy, 0);
    const { delivered } = await storage.claim('jobs', { max: 2, leaseMs: 1_000, maxAttempts: 3, deadLetter: false }, 0);
    await storage.ack('jobs', [delivered[0]!.receipt], 0);
    expect(drained).toEqual([]);
    await storage.ack('jobs', [delivered[1]!.receipt], 0);
    expect(drained).toEqual([]);
    // The last one expires while waiting.
    await storage.tick(100);
    expect(drained).toEqual(['jobs']);
  });

  it("signals 'due' at once when it moves earlier, and a later or no due time at the next tick", async () => {
    const storage = new MemoryStorage({ clock: new TestClock() });
    const dues: (number | undefined)[] = [];
    storage.watch((signal) => {
      if (signal.type === 'due') dues.push(signal.at);
    });
    const policy = { maxLength: undefined, overflow: 'reject' as const, deadLetter: false as const, dedupeWindow: 0 };
    await storage.enqueue('jobs', [{ ...message('a', 1), availableAt: 500 }], policy, 0);
    await storage.enqueue('jobs', [{ ...message('b', 2), availableAt: 200 }], policy, 0);
    expect(dues).toEqual([500, 200]);
    // The purge leaves nothing due; the timer set for 200 finds that out when it ticks.
    await storage.purge('jobs', 0);
    expect(dues).toEqual([500, 200]);
    await storage.tick(200);
    expect(dues).toEqual([500, 200, undefined]);
  });

  it('uses the system clock when given no clock', () => {
    expect(new MemoryStorage().clock).toBe(systemClock);
    expect(new MemoryStorage({}).clock).toBe(systemClock);
  });

  it('uses the clock it is given', () => {
    const clock = new TestClock();
    expect(new MemoryStorage({ clock }).clock).toBe(clock);
  });

  it('new MemoryStorage() - rejects options that are not an object', () => {
    expect(() => new MemoryStorage(42 as never)).toThrow(TypeError);
    expect(() => new MemoryStorage(42 as never)).toThrow(/`options`/);
    expect(() => new MemoryStorage(null as never)).toThrow(/`options`/);
  });

  it('new MemoryStorage() - rejects an unknown option by name', () => {
    expect(() => new MemoryStorage({ clok: new TestClock() } as never)).toThrow(/clok/);
  });

  it('new MemoryStorage() - rejects a clock without sleep(), which handlers may call on storage.clock', () => {
    const { now, setTimer, clearTimer } = systemClock;
    expect(() => new MemoryStorage({ clock: { now, setTimer, clearTimer } as never })).toThrow(/`options.clock`.*sleep\(\)/);
  });

  it('new MemoryStorage() - rejects a clock without now(), setTimer() and clearTimer()', () => {
    expect(() => new MemoryStorage({ clock: { now: () => 0 } as never })).toThrow(TypeError);
    expect(() => new MemoryStorage({ clock: { now: () => 0 } as never })).toThrow(/`options.clock`/);
    expect(() => new MemoryStorage({ clock: 'system' as never })).toThrow(/`options.clock`/);
  });
});
