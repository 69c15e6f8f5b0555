/**
 * Recipe: drive retries to the dead-letter queue. clock.runAll() fires every retry
 * timer in order, so a week of backoff runs in a few milliseconds; the same test runs
 * on a FileStorage by swapping the storage.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStorage, type Storage } from '../../src/index.js';
import { FileStorage } from '../../src/file.js';
import { TestClock, inspect } from '../../src/testing.js';
import { SignupService } from './signup-service.js';

const DAY = 86_400_000;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

const storages: [string, (clock: TestClock) => Storage][] = [
  ['MemoryStorage', (clock) => new MemoryStorage({ clock })],
  [
    'FileStorage',
    (clock) => {
      const dir = mkdtempSync(join(tmpdir(), 'recipe-'));
      const storage = new FileStorage({ dir, clock });
      closers.push(async () => {
        await storage.close();
        rmSync(dir, { recursive: true, force: true });
      });
      return storage;
    },
  ],
];

describe.each(storages)('on %s', (_name, makeStorage) => {
  it('a mail server that never answers: the email is retried for about a week, then dead-lettered', async () => {
    const clock = new TestClock(Date.UTC(2026, 0, 1));
    const storage = makeStorage(clock);
    const attempts: number[] = [];
    const service = new SignupService({
      storage,
      mailer: async () => {
        attempts.push(clock.now());
        throw new Error('mail server unreachable');
      },
    });
    service.start();
    await service.emails.send({ signupId: 's-1', to: 'ada@example.com' });

    await clock.runAll();

    expect(attempts).toHaveLength(13);
    expect(attempts.at(-1)! - attempts[0]!).toBeGreaterThan(6 * DAY);
    const { emails } = await inspect(storage);
    expect(emails!.dead).toEqual([
      expect.objectContaining({
        body: { signupId: 's-1', to: 'ada@example.com' },
        headers: expect.objectContaining({ 'x-dead-reason': 'max-attempts', 'x-dead-error': 'mail server unreachable' }),
      }),
    ]);
    expect(emails!.stats).toMatchObject({ ready: 0, delayed: 0, inflight: 0, retried: 12, deadLettered: 1 });
    await service.stop();
  });
});
