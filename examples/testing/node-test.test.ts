/**
 * Runs the node:test version of the recipes (examples/testing/node-test/) the way its
 * header says, so that it cannot rot either.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);

it('node --test examples/testing/node-test/signup.node-test.ts passes both its tests', async () => {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', 'examples/testing/node-test/signup.node-test.ts'], { timeout: 60_000 });
  expect(stdout).toMatch(/^# pass 2$/m);
  expect(stdout).toMatch(/^# fail 0$/m);
});
