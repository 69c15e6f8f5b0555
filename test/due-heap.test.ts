import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DueHeap } from '../src/engine/due-heap.js';
import { type Entry, newEntry } from '../src/engine/entry.js';
import { QueueState } from '../src/engine/queue-state.js';

const owner = new QueueState('jobs');

function entry(id: string, dueAt: number): Entry {
  const e = newEntry(
    {
      id,
      body: undefined,
      headers: undefined,
      priority: 0,
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
  e.dueAt = dueAt;
  return e;
}

/** Pops everything, returning the due times in the order they came out. */
function drain(heap: DueHeap): number[] {
  const out: number[] = [];
  for (let top = heap.peek(); top; top = heap.peek()) {
    heap.remove(top);
    out.push(top.dueAt);
  }
  return out;
}

describe('DueHeap', () => {
  it('.peek() - is undefined when empty', () => {
    const heap = new DueHeap();
    expect(heap.peek()).toBeUndefined();
    expect(heap.size).toBe(0);
  });

  it('.peek() - gives the earliest due entry', () => {
    const heap = new DueHeap();
    for (const [id, due] of [['a', 30], ['b', 10], ['c', 20], ['d', 5], ['e', 40]] as const) heap.push(entry(id, due));
    expect(heap.peek()?.id).toBe('d');
    expect(heap.size).toBe(5);
    expect(drain(heap)).toEqual([5, 10, 20, 30, 40]);
  });

  it('.peek() - gives entries due at the same time in the order they were created', () => {
    const heap = new DueHeap();
    const entries = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((id) => entry(id, 100));
    for (const e of entries) heap.push(e);
    heap.push(entry('early', 50));
    const order: string[] = [];
    for (let top = heap.peek(); top; top = heap.peek()) {
      heap.remove(top);
      order.push(top.id);
    }
    expect(order).toEqual(['early', 'a', 'b', 'c', 'd', 'e', 'f', 'g']);
  });

  it('.remove() - takes an entry out of the middle and keeps the order of the rest', () => {
    const heap = new DueHeap();
    const entries = [50, 10, 40, 20, 30, 60, 70, 15].map((due, i) => entry(`e${i}`, due));
    for (const e of entries) heap.push(e);
    heap.remove(entries[2]!);
    heap.remove(entries[3]!);
    expect(entries[2]!.heapIndex).toBe(-1);
    expect(entries[3]!.heapIndex).toBe(-1);
    expect(heap.size).toBe(6);
    expect(drain(heap)).toEqual([10, 15, 30, 50, 60, 70]);
  });

  it('.remove() - of the last entry in the array leaves the rest in place', () => {
    const heap = new DueHeap();
    const entries = [1, 2, 3].map((due, i) => entry(`e${i}`, due));
    for (const e of entries) heap.push(e);
    heap.remove(entries[2]!);
    expect(drain(heap)).toEqual([1, 2]);
  });

  it('.update() - moves an entry whose due time got earlier or later', () => {
    const heap = new DueHeap();
    const entries = [10, 20, 30, 40, 50].map((due, i) => entry(`e${i}`, due));
    for (const e of entries) heap.push(e);
    entries[4]!.dueAt = 1;
    heap.update(entries[4]!);
    expect(heap.peek()?.id).toBe('e4');
    entries[4]!.dueAt = 35;
    heap.update(entries[4]!);
    entries[0]!.dueAt = 100;
    heap.update(entries[0]!);
    expect(drain(heap)).toEqual([20, 30, 35, 40, 100]);
  });

  it('.clear() - empties the heap and marks every entry as out of it', () => {
    const heap = new DueHeap();
    const entries = [3, 1, 2].map((due, i) => entry(`e${i}`, due));
    for (const e of entries) heap.push(e);
    heap.clear();
    expect(heap.size).toBe(0);
    expect(heap.peek()).toBeUndefined();
    expect(entries.map((e) => e.heapIndex)).toEqual([-1, -1, -1]);
  });

  it('keeps every entry at its recorded position through any mix of push, update and remove', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('push' as const), due: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ kind: fc.constant('update' as const), pick: fc.nat(), due: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('pop' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const heap = new DueHeap();
        const live: Entry[] = [];
        let n = 0;
        for (const o of ops) {
          if (o.kind === 'push') {
            const e = entry(`e${n++}`, o.due);
            heap.push(e);
            live.push(e);
          } else if (live.length === 0) {
            continue;
          } else if (o.kind === 'update') {
            const e = live[o.pick % live.length]!;
            e.dueAt = o.due;
            heap.update(e);
          } else if (o.kind === 'remove') {
            const e = live.splice(o.pick % live.length, 1)[0]!;
            heap.remove(e);
          } else {
            const top = heap.peek()!;
            expect(top.dueAt).toBe(Math.min(...live.map((e) => e.dueAt)));
            heap.remove(top);
            live.splice(live.indexOf(top), 1);
          }
          expect(heap.size).toBe(live.length);
          expect(heap.peek()?.dueAt).toBe(live.length === 0 ? undefined : Math.min(...live.map((e) => e.dueAt)));
        }
        expect(drain(heap)).toEqual(live.map((e) => e.dueAt).sort((a, b) => a - b));
      }),
      { numRuns: 300 },
    );
  });
});
