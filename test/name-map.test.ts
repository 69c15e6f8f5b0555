import { describe, expect, it } from 'vitest';
import { NameMap } from '../src/engine/name-map.js';

describe('NameMap', () => {
  it('answers as a Map through the entry it remembers: after set, delete and clear', () => {
    const map = new NameMap<{ n: number }>();
    const a = { n: 1 };
    map.set('a', a).set('b', { n: 2 });
    expect(map.get('a')).toBe(a);
    // Replacing the remembered entry is seen at once.
    const a2 = { n: 3 };
    map.set('a', a2);
    expect(map.get('a')).toBe(a2);
    expect(map.delete('a')).toBe(true);
    expect(map.get('a')).toBeUndefined();
    expect(map.has('a')).toBe(false);
    expect(map.get('b')).toEqual({ n: 2 });
    map.clear();
    expect(map.get('b')).toBeUndefined();
    expect(map.size).toBe(0);
    map.set('c', { n: 4 });
    expect([...map]).toEqual([['c', { n: 4 }]]);
    expect([...map.keys()]).toEqual(['c']);
    expect([...map.values()]).toEqual([{ n: 4 }]);
  });
});
