/**
 * The recipes' service tested with node:test instead of vitest (ES modules). Run:
 *   node --import tsx --test examples/testing/node-test/signup.node-test.ts
 * examples/testing/node-test.test.ts runs it in CI.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStorage } from '../../../src/index.js';
import { TestClock, inspect } from '../../../src/testing.js';
import { SignupService } from '../signup-service.js';

test('signup() queues one welcome email', async () => {
  const storage = new MemoryStorage({ clock: new TestClock() });
  const service = new SignupService({ storage, mailer: async () => {} });
  service.pricing.serve(async () => ({ cents: 0 }));

  await service.signup('s-1', 'ada@example.com', 'free');

  const { emails } = await inspect(storage);
  assert.deepEqual(
    emails!.ready.map((m) => m.body),
    [{ signupId: 's-1', to: 'ada@example.com' }],
  );
});

test('an unreachable mail server: retried for about a week, then dead-lettered', async () => {
  const clock = new TestClock();
  const storage = new MemoryStorage({ clock });
  const service = new SignupService({
    storage,
    mailer: async () => {
      throw new Error('mail server unreachable');
    },
  });
  service.start();
  await service.emails.send({ signupId: 's-1', to: 'ada@example.com' });

  await clock.runAll();

  const { emails } = await inspect(storage);
  assert.equal(emails!.dead.length, 1);
  assert.equal(emails!.dead[0]!.headers['x-dead-reason'], 'max-attempts');
  assert.ok(clock.now() > 6 * 86_400_000);
  await service.stop();
});
