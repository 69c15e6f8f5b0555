import { describe, expect, it } from 'vitest';
import { type Entry, newEntry } from '../src/engine/entry.js';
import { QueueState } from '../src/engine/queue-state.js';
import { ReadyIndex } from '../src/engine/ready-index.js';

const owner = new QueueState('jobs');

function entry(id: string, priority = 0): Entry {
  return newEntry(
    {
      id,
      body: undefined,
      headers: undefined,
      priority,
      enqueuedAt: 0,
      availableAt: 0,
      expiresAt: undefined,
      dedupeId: undefined,
      group: undefined,
      correlationId: undefined,
      subject: undefined,
    },
    owner,
  );
}

const ids = (entries: readonly Entry[]) => entries.map((e) => e.id);

describe('ReadyIndex', () => {
  it('.first() - is undefined when empty', () => {
    const index = new ReadyIndex();
    expect(index.first()).toBeUndefined();
    expect(index.leastImportant()).toBeUndefined();
    expect(index.size).toBe(0);
    expect(index.list(10)).toEqual([]);
  });

  it('.list() - orders by priority, higher first, then FIFO within a priority', () => {
    const index = new ReadyIndex();
    for (const [id, p] of [['a', 0], ['b', 5], ['c', 0], ['d', -3], ['e', 5], ['f', 2], ['g', 0]] as const) index.push(entry(id, p));
    expect(index.size).toBe(7);
    expect(ids(index.list(Infinity))).toEqual(['b', 'e', 'f', 'a', 'c', 'g', 'd']);
    expect(ids(index.list(3))).toEqual(['b', 'e', 'f']);
    expect(index.first()?.id).toBe('b');
  });

  it('.leastImportant() - is the oldest entry of the lowest priority', () => {
    const index = new ReadyIndex();
    for (const [id, p] of [['a', 1], ['low1', -1], ['b', 3], ['low2', -1]] as const) index.push(entry(id, p));
    expect(index.leastImportant()?.id).toBe('low1');
  });

  it('.remove() - takes entries out of the middle, head and tail of a bucket', () => {
    const index = new ReadyIndex();
    const entries = ['a', 'b', 'c', 'd', 'e'].map((id) => entry(id));
    for (const e of entries) index.push(e);
    index.remove(entries[2]!);
    expect(ids(index.list(Infinity))).toEqual(['a', 'b', 'd', 'e']);
    index.remove(entries[0]!);
    index.remove(entries[4]!);
    expect(ids(index.list(Infinity))).toEqual(['b', 'd']);
    expect(index.first()?.id).toBe('b');
    expect(index.size).toBe(2);
  });

  it('.remove() - drops a bucket that became empty, so the next priority comes first', () => {
    const index = new ReadyIndex();
    const high = entry('high', 9);
    const mid = entry('mid', 5);
    index.push(entry('low', 1));
    index.push(high);
    index.push(mid);
    index.remove(high);
    expect(index.first()?.id).toBe('mid');
    index.remove(mid);
    expect(index.first()?.id).toBe('low');
    index.push(entry('mid2', 5));
    expect(ids(index.list(Infinity))).toEqual(['mid2', 'low']);
  });

  it('.push() - puts an entry that comes back (a released message) at the tail of its priority', () => {
    const index = new ReadyIndex();
    const entries = ['a', 'b', 'c'].map((id) => entry(id));
    for (const e of entries) index.push(e);
    const first = index.first()!;
    index.remove(first);
    index.push(first);
    expect(ids(index.list(Infinity))).toEqual(['b', 'c', 'a']);
  });

  it('.clear() - empties the index and returns what it held in delivery order', () => {
    const index = new ReadyIndex();
    for (const [id, p] of [['a', 0], ['b', 1]] as const) index.push(entry(id, p));
    expect(ids(index.clear())).toEqual(['b', 'a']);
    expect(index.size).toBe(0);
    expect(index.first()).toBeUndefined();
  });
});
