/**
 * Recipe: assert that your code sent a message. Give the code a MemoryStorage on a
 * TestClock, leave the consumer stopped, and look at the queue with inspect().
 */
import { expect, it } from 'vitest';
import { MemoryStorage } from '../../src/index.js';
import { TestClock, inspect } from '../../src/testing.js';
import { SignupService } from './signup-service.js';

it('signup() queues one welcome email for the new user', async () => {
  const clock = new TestClock(Date.UTC(2026, 0, 1));
  const storage = new MemoryStorage({ clock });
  const service = new SignupService({ storage, mailer: async () => {} });
  service.pricing.serve(async () => ({ cents: 0 })); // a fake pricing server (see request-reply-fake-server.test.ts)

  await service.signup('s-1', 'ada@example.com', 'free');

  const { emails } = await inspect(storage);
  expect(emails!.ready).toEqual([expect.objectContaining({ body: { signupId: 's-1', to: 'ada@example.com' }, attempt: 0 })]);
  // Or, without inspect(): the queue's own peek() and stats().
  expect(await service.emails.stats()).toMatchObject({ ready: 1, sent: 1 });
});

it('signup() twice for the same signup id queues the email once (dedupeId)', async () => {
  const storage = new MemoryStorage({ clock: new TestClock() });
  const service = new SignupService({ storage, mailer: async () => {} });
  service.pricing.serve(async () => ({ cents: 0 }));

  await service.signup('s-1', 'ada@example.com', 'free');
  await service.signup('s-1', 'ada@example.com', 'free');

  expect((await inspect(storage)).emails!.ready).toHaveLength(1);
});
