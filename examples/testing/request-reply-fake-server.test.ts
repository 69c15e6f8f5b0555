/**
 * Recipe: test request/reply with a fake server. The code under test calls
 * `pricing.request()`; the test serves the same RequestReply name on the same storage
 * with a stub, and can check what the server received, make it fail, or let it time out.
 */
import { expect, it } from 'vitest';
import { MemoryStorage, RemoteError, TimeoutError } from '../../src/index.js';
import { TestClock } from '../../src/testing.js';
import { type PriceRequest, SignupService } from './signup-service.js';

it('signup() returns the price the pricing service quotes for the plan', async () => {
  const storage = new MemoryStorage({ clock: new TestClock() });
  const service = new SignupService({ storage, mailer: async () => {} });
  const asked: PriceRequest[] = [];
  service.pricing.serve(async (req) => {
    asked.push(req);
    return { cents: req.plan === 'pro' ? 900 : 0 };
  });

  expect(await service.signup('s-1', 'ada@example.com', 'pro')).toEqual({ cents: 900 });
  expect(asked).toEqual([{ plan: 'pro' }]);
});

it('signup() rejects with the server\'s error once the server\'s retries are spent, and queues no email', async () => {
  const clock = new TestClock();
  const storage = new MemoryStorage({ clock });
  const service = new SignupService({ storage, mailer: async () => {} });
  let calls = 0;
  service.pricing.serve(async () => {
    calls++;
    throw new Error('unknown plan');
  });

  const signup = service.signup('s-1', 'ada@example.com', 'pro');
  const outcome = expect(signup).rejects.toThrow(/unknown plan/);
  await clock.runAll(); // the server's retries (backoff of its request queue) run in simulated time
  await outcome;
  await expect(signup).rejects.toBeInstanceOf(RemoteError);
  expect(calls).toBe(3);
  expect(await service.emails.stats()).toMatchObject({ sent: 0 });
});

it('signup() times out after 5 s of simulated time when no server answers', async () => {
  const clock = new TestClock();
  const service = new SignupService({ storage: new MemoryStorage({ clock }), mailer: async () => {} });

  const signup = service.signup('s-1', 'ada@example.com', 'pro');
  const outcome = expect(signup).rejects.toThrow(TimeoutError);
  await clock.advance(5_000);
  await outcome;
});
