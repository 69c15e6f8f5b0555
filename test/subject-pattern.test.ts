import { describe, expect, it } from 'vitest';
import { checkFilter, checkSubject, SubjectIndex, subjectMatches } from '../src/subject-pattern.js';

// [filter, subject, matches]; `undefined` subject is a message published without one.
const TABLE: [string | undefined, string | undefined, boolean][] = [
  [undefined, 'order.placed', true],
  [undefined, undefined, true],
  ['order.placed', 'order.placed', true],
  ['order.placed', 'order.shipped', false],
  ['order.placed', 'order.placed.eu', false],
  ['order.placed', 'order', false],
  ['order.*', 'order.placed', true],
  ['order.*', 'order', false],
  ['order.*', 'order.placed.eu', false],
  ['*.placed', 'order.placed', true],
  ['*.placed', 'placed', false],
  ['*', 'order', true],
  ['*', 'order.placed', false],
  ['*', undefined, false],
  ['*.*', 'a.b', true],
  ['*.*', 'a', false],
  ['order.#', 'order', true],
  ['order.#', 'order.placed', true],
  ['order.#', 'order.placed.eu', true],
  ['order.#', 'orders.placed', false],
  ['#', 'a', true],
  ['#', 'a.b.c', true],
  ['#', undefined, true],
  ['#.error', 'error', true],
  ['#.error', 'billing.db.error', true],
  ['#.error', 'billing.db.error.retry', false],
  ['a.#.z', 'a.z', true],
  ['a.#.z', 'a.b.c.z', true],
  ['a.#.z', 'a.b.c', false],
  ['#.a.#', 'x.a.y', true],
  ['#.a.#', 'a', true],
  ['#.a.#', 'x.y', false],
  ['#.#', 'a.b', true],
  ['#.#', undefined, true],
  ['*.#', 'a', true],
  ['*.#', undefined, false],
  ['#.*', 'a.b.c', true],
  ['a.*.#', 'a.b', true],
  ['a.*.#', 'a', false],
  ['a.*.c', 'a.b.c', true],
  ['a.*.c', 'a.b.b.c', false],
  ['log.*.error', 'log.api.error', true],
  ['log.*.error', 'log.api.warn', false],
];

describe('subject patterns', () => {
  it.each(TABLE)('subjectMatches(%j, %j) is %j', (filter, subject, matches) => {
    expect(subjectMatches(filter, subject)).toBe(matches);
  });

  it('SubjectIndex.match() - agrees with every row of the table when all filters are in one index', () => {
    const index = new SubjectIndex<string>();
    for (const [filter] of TABLE) index.add(filter, String(filter));
    for (const [filter, subject, matches] of TABLE) {
      expect(index.match(subject).has(String(filter)), `${String(filter)} vs ${String(subject)}`).toBe(matches);
    }
  });

  it('SubjectIndex.match() - returns a value once even when its filter matches in several ways', () => {
    const index = new SubjectIndex<string>();
    index.add('#.a.#', 'x');
    expect([...index.match('a.a.a')]).toEqual(['x']);
  });

  it('SubjectIndex.matchList() - agrees with match() on every row of the table, asked twice', () => {
    const index = new SubjectIndex<string>();
    for (const [filter] of TABLE) index.add(filter, String(filter));
    for (let round = 0; round < 2; round++) {
      for (const [, subject] of TABLE) expect([...index.matchList(subject)].sort()).toEqual([...index.match(subject)].sort());
    }
  });

  it('SubjectIndex.matchList() - answers anew after add() and delete(), leaving arrays already handed out unchanged', () => {
    const index = new SubjectIndex<string>();
    index.add('order.*', 'billing');
    const before = index.matchList('order.placed');
    const none = index.matchList(undefined);
    index.add(undefined, 'audit');
    index.add('order.#', 'analytics');
    expect(before).toEqual(['billing']);
    expect(none).toEqual([]);
    expect([...index.matchList('order.placed')].sort()).toEqual(['analytics', 'audit', 'billing']);
    expect(index.matchList(undefined)).toEqual(['audit']);
    index.delete('order.*', 'billing');
    index.delete(undefined, 'audit');
    expect(index.matchList('order.placed')).toEqual(['analytics']);
    expect(index.matchList(undefined)).toEqual([]);
  });

  it('SubjectIndex.matchList() - stays right past the number of subjects it remembers', () => {
    const index = new SubjectIndex<string>();
    index.add('s.*', 'x');
    for (let i = 0; i < 2_500; i++) expect(index.matchList(`s.${i}`)).toEqual(['x']);
    expect(index.matchList('t.0')).toEqual([]);
    expect(index.matchList('s.0')).toEqual(['x']);
  });

  it('SubjectIndex.delete() - removes only the given value and filter', () => {
    const index = new SubjectIndex<string>();
    index.add('order.*', 'billing');
    index.add('order.*', 'shipping');
    index.add('order.#', 'analytics');
    index.add(undefined, 'audit');
    index.delete('order.*', 'billing');
    index.delete(undefined, 'audit');
    index.delete('no.such.filter', 'analytics');
    expect([...index.match('order.placed')].sort()).toEqual(['analytics', 'shipping']);
    index.delete('order.*', 'shipping');
    index.delete('order.#', 'analytics');
    expect(index.match('order.placed').size).toBe(0);
  });

  it.each(['a.b*', '*a', 'a.#b', '', '.', 'a.', '.a', 'a..b', 'a.**', '##', 42, undefined, null])('checkFilter() - rejects %j naming the argument', (bad) => {
    expect(() => checkFilter('options.filter', bad)).toThrow(TypeError);
    expect(() => checkFilter('options.filter', bad)).toThrow(/`options\.filter`/);
  });

  it.each(['a', 'a.b', '*', '#', 'a.*.#', '#.error', 'order-v2.placed_eu'])('checkFilter() - accepts %j', (good) => {
    expect(checkFilter('options.filter', good)).toBe(good);
  });

  it.each(['a.*', '#', '', 'a..b', 'a.', 'x#', 7])('checkSubject() - rejects %j naming the argument', (bad) => {
    expect(() => checkSubject('options.subject', bad)).toThrow(/Expected `options\.subject`/);
  });

  it('checkSubject() - accepts dot-separated words', () => {
    expect(checkSubject('options.subject', 'order.eu.placed')).toBe('order.eu.placed');
  });
});
