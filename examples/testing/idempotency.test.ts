/**
 * Recipe: test a consumer's idempotency with a duplicate delivery. At-least-once
 * delivery means a message can come twice: here a first worker takes the message,
 * sends the email and dies before its ack, so once its lease (the visibility timeout)
 * runs out the message is delivered again. One email must go out, not two.
 */
import { expect, it } from 'vitest';
import { MemoryStorage } from '../../src/index.js';
import { TestClock, inspect } from '../../src/testing.js';
import { SignupService } from './signup-service.js';

it('a welcome email delivered twice is sent once', async () => {
  const clock = new TestClock();
  const storage = new MemoryStorage({ clock });
  const mailed: string[] = [];
  const service = new SignupService({ storage, mailer: async (to) => void mailed.push(to) });
  await service.emails.send({ signupId: 's-1', to: 'ada@example.com' });

  // Delivery 1: a worker that mails, then crashes before `first.ack()`.
  const [first] = await service.emails.receive();
  await service.deliverWelcome(first!.body);

  // Delivery 2: the lease runs out and the running worker gets the message again.
  service.start();
  await clock.advance(30_000);

  expect(mailed).toEqual(['ada@example.com']);
  const { emails } = await inspect(storage);
  expect(emails!.stats).toMatchObject({ delivered: 2, acked: 1, ready: 0, inflight: 0 });
  await service.stop();
});
