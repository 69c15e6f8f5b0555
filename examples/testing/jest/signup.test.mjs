/**
 * The recipes' service tested with Jest, ES modules. Jest runs ES modules only in its
 * ESM mode; from the repository root, after `npm run build`:
 *   node --experimental-vm-modules node_modules/jest/bin/jest.js --config examples/testing/jest/jest.config.mjs signup.test.mjs
 * examples/testing/jest.test.ts runs it in CI.
 */
import { afterEach, expect, it, jest } from '@jest/globals';
import { MemoryStorage, Topic } from 'pocketmq';
import { TestClock, inspect } from 'pocketmq/testing';
import { SignupService } from './signup-service.mjs';

afterEach(() => {
  jest.useRealTimers();
});

it('signup() queues one welcome email for the new user', async () => {
  const storage = new MemoryStorage({ clock: new TestClock(Date.UTC(2026, 0, 1)) });
  const service = new SignupService({ storage, mailer: async () => {} });
  service.pricing.serve(async () => ({ cents: 0 }));

  await service.signup('s-1', 'ada@example.com', 'free');

  const { emails } = await inspect(storage);
  expect(emails.ready).toEqual([expect.objectContaining({ body: { signupId: 's-1', to: 'ada@example.com' }, attempt: 0 })]);
});

it('an unreachable mail server: retried for about a week, then dead-lettered', async () => {
  const clock = new TestClock(Date.UTC(2026, 0, 1));
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
  expect(emails.dead).toEqual([expect.objectContaining({ headers: expect.objectContaining({ 'x-dead-reason': 'max-attempts' }) })]);
  expect(clock.now() - Date.UTC(2026, 0, 1)).toBeGreaterThan(6 * 86_400_000);
  await service.stop();
});

it("beside Jest's fake timers: your timers on Jest's, pocketmq's on the TestClock", async () => {
  // Jest also fakes queueMicrotask and process.nextTick by default, and pocketmq schedules
  // its own work with them (a topic stores a tick's publishes in one call): keep them real.
  jest.useFakeTimers({ doNotFake: ['queueMicrotask', 'nextTick'] });
  const clock = new TestClock(Date.UTC(2026, 0, 1));
  const storage = new MemoryStorage({ clock });
  const mailed = [];
  const service = new SignupService({
    storage,
    mailer: async (to) => {
      mailed.push(to);
    },
  });
  service.pricing.serve(async () => ({ cents: 0 }));
  const audit = new Topic('signups', { storage });
  const audited = [];
  audit.subscribe('audit-log', async (msg) => {
    audited.push(msg.body.signupId);
  });
  let reminded = false;
  setTimeout(() => {
    reminded = true; // your own code's timer: a reminder an hour later
  }, 3_600_000);

  service.start();
  await service.signup('s-1', 'ada@example.com', 'free');
  await audit.publish({ signupId: 's-1' });
  await clock.advance(1_000);

  expect(mailed).toEqual(['ada@example.com']);
  expect(audited).toEqual(['s-1']);
  expect(reminded).toBe(false);
  jest.advanceTimersByTime(3_600_000);
  expect(reminded).toBe(true);
  expect(clock.now()).toBe(Date.UTC(2026, 0, 1) + 1_000); // Jest's timers do not move the TestClock
  await service.stop();
});
