import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

// `npm run demo` is the newcomer's first command: run it as they would and check its story.
describe('npm run demo', () => {
  it('stops halfway, reopens the folder, finishes the work and dead-letters the failing job', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/demo.ts'], { timeout: 60_000 });
    const waiting = /reopen the folder: (\d+) jobs still waiting, (\d+) done before the stop/.exec(stdout);
    expect(waiting).not.toBeNull();
    expect(Number(waiting![1]) + Number(waiting![2])).toBe(10);
    expect(Number(waiting![1])).toBeGreaterThan(0);
    expect(stdout).toMatch(/retry {2}job 7 \(attempt 1 failed: cannot decode image\)/);
    expect(stdout).toMatch(/dlq {4}job 7: reason=max-attempts, error="cannot decode image", attempts=3/);
    expect(stdout).toMatch(/stats {2}ready 0 · delayed 0 · in flight 0 · sent 10 · delivered 12 · acked 9 · retried 2 · dead-lettered 1/);
    for (let id = 1; id <= 10; id++) if (id !== 7) expect(stdout).toMatch(new RegExp(`done {3}job ${id} \\(attempt 1\\)`));
  });
});
