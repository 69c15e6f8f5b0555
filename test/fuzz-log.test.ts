/**
 * CI's share of `npm run fuzz` (scripts/fuzz-log.ts): a few thousand damaged logs,
 * each of which must open to a state whose later writes reopen, or be refused with
 * CorruptLogError. The default run of the script is 100,000 inputs.
 */
import { describe, expect, it } from 'vitest';
import { fuzzLogs } from '../scripts/fuzz-log.js';

describe('npm run fuzz', () => {
  it('fuzzLogs() - 2,000 damaged logs each open to a state whose writes reopen, or are refused with CorruptLogError', async () => {
    const report = await fuzzLogs({ runs: 2_000, seed: 18 });
    expect(report.failures).toEqual([]);
    expect(report.inputs).toBe(2_000);
    // Both outcomes occur: the inputs reach replay and the writes after it, not only the checksum.
    expect(report.opened).toBeGreaterThan(200);
    expect(report.refused).toBeGreaterThan(200);
  }, 180_000);
});
