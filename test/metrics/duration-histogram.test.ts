import { describe, expect, it } from 'vitest';
import { bucketOf, bucketValue, DURATION_BUCKETS, DURATION_STEP_MS, DurationHistogram } from '../../src/metrics/duration-histogram.js';

describe('DurationHistogram', () => {
  it('bucketOf() - is exact below 16 ms and within 1/8 of the value above, up to 2^31 ms', () => {
    for (let ms = 0; ms < 16; ms++) expect(bucketValue(bucketOf(ms))).toBe(ms);
    for (const ms of [16, 17, 31, 32, 100, 999, 1_000, 12_345, 2 ** 20 + 7, 2 ** 31 - 1]) {
      const value = bucketValue(bucketOf(ms));
      expect(Math.abs(value - ms) / ms, `${ms} ms`).toBeLessThanOrEqual(1 / 16);
    }
    expect(bucketOf(2 ** 40)).toBe(DURATION_BUCKETS - 1);
    expect(bucketOf(2 ** 31 - 1)).toBeLessThan(DURATION_BUCKETS);
  });

  it('bucketOf() - grows with the value', () => {
    const descents: number[] = [];
    for (let ms = 1; ms < 100_000; ms++) if (bucketOf(ms) < bucketOf(ms - 1)) descents.push(ms);
    expect(descents).toEqual([]);
  });

  it('.summary() - count, mean, quantiles and max of what was added', () => {
    const histogram = new DurationHistogram().at(0);
    for (let ms = 1; ms <= 100; ms++) histogram.add(ms);
    const summary = DurationHistogram.summary([histogram], 0);
    expect(summary.count).toBe(100);
    expect(summary.mean).toBeCloseTo(50.5, 10);
    expect(summary.max).toBe(100);
    expect(Math.abs(summary.p50 - 50) / 50).toBeLessThanOrEqual(1 / 16);
    expect(Math.abs(summary.p95 - 95) / 95).toBeLessThanOrEqual(1 / 16);
    expect(Math.abs(summary.p99 - 99) / 99).toBeLessThanOrEqual(1 / 16);
  });

  it('.summary() - is all zeros with nothing recorded', () => {
    expect(DurationHistogram.summary([new DurationHistogram()], 0)).toEqual({ count: 0, mean: 0, p50: 0, p95: 0, p99: 0, max: 0 });
  });

  it('.summary() - forgets what is older than 60 s, a 5 s step at a time', () => {
    const histogram = new DurationHistogram();
    histogram.at(0).add(10);
    histogram.at(30_000).add(20);
    expect(DurationHistogram.summary([histogram], 59_999).count).toBe(2);
    // At 60 s the window is the steps from 5 s on: the first duration left it.
    expect(DurationHistogram.summary([histogram], 60_000)).toMatchObject({ count: 1, max: 20 });
    expect(DurationHistogram.summary([histogram], 90_000 + DURATION_STEP_MS)).toMatchObject({ count: 0, max: 0 });
  });

  it('.summary() - merges several histograms', () => {
    const a = new DurationHistogram().at(0);
    const b = new DurationHistogram().at(0);
    a.add(4);
    b.add(8);
    expect(DurationHistogram.summary([a, b], 0)).toMatchObject({ count: 2, mean: 6, max: 8 });
  });

  it('memory - the same number of slots after a million durations as before any', () => {
    const histogram = new DurationHistogram();
    const before = histogram.size;
    for (let i = 0; i < 1_000_000; i++) histogram.at(i * 7).add(i % 5_000);
    expect(histogram.size).toBe(before);
    expect(before).toBeLessThan(3_000);
  });
});
