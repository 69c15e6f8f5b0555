/**
 * kill -9 at random moments: a child process sends, receives and acks on a
 * FileStorage and reports each resolved operation; after every SIGKILL the
 * directory is reopened and checked. `npm run soak` runs the same loop 1,000 times.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crashLoop } from './fixtures/file-crash-loop.js';

describe('FileStorage: kill -9', () => {
  it('after 50 random SIGKILLs every resolved send is stored or was delivered, and no acked message comes back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pocketmq-crash-'));
    try {
      const figures = await crashLoop({ dir, cycles: 50 });
      expect(figures.problems).toEqual([]);
      expect(figures).toMatchObject({ cycles: 50, lost: 0, resurrected: 0, attemptsDown: 0, fifoViolations: 0 });
      expect(figures.messages).toBeGreaterThan(50);
      console.log(`kill -9: ${JSON.stringify(figures)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 170_000);
});
