import { describe, expect, it } from 'vitest';
import { newId } from '../src/ids.js';

describe('newId', () => {
  it('newId() - gives unique ids across blocks, all with the process prefix', () => {
    const ids = Array.from({ length: 5_000 }, () => newId());
    expect(new Set(ids).size).toBe(ids.length);
    const prefix = ids[0]!.slice(0, 10);
    for (const id of ids) expect(id.startsWith(prefix)).toBe(true);
    expect(ids.every((id) => /^[\w-]{10}[0-9a-z]+[0-9a-v]{2}$/.test(id))).toBe(true);
  });
});
