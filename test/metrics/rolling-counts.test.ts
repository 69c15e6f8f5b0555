import { describe, expect, it } from 'vitest';
import { COUNT_STEPS, RollingCounts } from '../../src/metrics/rolling-counts.js';

describe('RollingCounts', () => {
  it('.total() - adds up each kind over the last 60 one-second steps', () => {
    const counts = new RollingCounts(2);
    counts.add(0, 3, 0);
    counts.add(0, 2, 59_999);
    counts.add(1, 7, 10_000);
    expect(counts.total(0, 59_999)).toBe(5);
    expect(counts.total(1, 59_999)).toBe(7);
    // The step of 0-999 ms falls out at 60 s; 10 s at 70 s.
    expect(counts.total(0, 60_000)).toBe(2);
    expect(counts.total(1, 70_000)).toBe(0);
  });

  it('.add() - a clock that went back counts in its own step, then in the newest again', () => {
    const counts = new RollingCounts(1);
    counts.add(0, 1, 59_999);
    counts.add(0, 1, 10_000);
    counts.add(0, 1, 10_500);
    counts.add(0, 1, 59_000);
    expect(counts.total(0, 69_999)).toBe(4);
    // The 10 s step falls out at 70 s; what the 59 s step holds stays.
    expect(counts.total(0, 70_000)).toBe(2);
  });

  it('.total() - a long silence clears every step', () => {
    const counts = new RollingCounts(1);
    for (let t = 0; t < 60_000; t += 500) counts.add(0, 1, t);
    expect(counts.total(0, 59_999)).toBe(120);
    expect(counts.total(0, 10 * 60_000)).toBe(0);
    counts.add(0, 1, 10 * 60_000);
    expect(counts.total(0, 10 * 60_000)).toBe(1);
  });

  it('memory - the same number of slots after a million adds as before any', () => {
    const counts = new RollingCounts(3);
    const before = counts.size;
    for (let i = 0; i < 1_000_000; i++) counts.add(i % 3, 1, i * 3);
    expect(counts.size).toBe(before);
    expect(before).toBe(3 * COUNT_STEPS);
  });
});
