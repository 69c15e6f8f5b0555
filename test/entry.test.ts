import { describe, expect, it } from 'vitest';
import { newEntry } from '../src/engine/entry.js';
import { QueueState } from '../src/engine/queue-state.js';
import type { NewMessage } from '../src/storage/storage.js';

const plain: NewMessage = {
  id: 'm1',
  body: { n: 1 },
  headers: undefined,
  priority: 3,
  enqueuedAt: 1_000,
  availableAt: 1_000,
  expiresAt: undefined,
  dedupeId: undefined,
  group: undefined,
  correlationId: undefined,
  subject: undefined,
};

describe('newEntry', () => {
  it('a plain message - carries its fields, starts ready and unleased, and reads its unset fields as undefined', () => {
    const owner = new QueueState('jobs');
    const entry = newEntry(plain, owner);
    expect(entry).toMatchObject({ id: 'm1', body: { n: 1 }, priority: 3, enqueuedAt: 1_000, availableAt: 1_000, attempt: 0, token: 0, heapIndex: -1, owner });
    expect(entry.extras).toBeUndefined();
    expect([entry.headers, entry.expiresAt, entry.dedupeId, entry.group, entry.correlationId, entry.subject]).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
  });

  it('a message with rarely set fields - reads each of them back', () => {
    const owner = new QueueState('jobs');
    const entry = newEntry({ ...plain, headers: { a: 'b' }, expiresAt: 5_000, dedupeId: 'd', group: 'g', correlationId: 'c', subject: 'order.placed' }, owner);
    expect([entry.headers, entry.expiresAt, entry.dedupeId, entry.group, entry.correlationId, entry.subject]).toEqual([{ a: 'b' }, 5_000, 'd', 'g', 'c', 'order.placed']);
  });

  it('entries of one queue - are numbered in the order made', () => {
    const owner = new QueueState('jobs');
    const a = newEntry(plain, owner);
    const b = newEntry({ ...plain, id: 'm2', subject: 's' }, owner);
    expect(b.seq).toBe(a.seq + 1);
  });
});
