/**
 * Faults inside the flush that are not I/O: framing a batch (its CRC) throws. The
 * operations waiting for that batch must reject with ERR_STORAGE_FAILED, never stay
 * pending (as send() did on Node 20.14, where zlib.crc32 is missing).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Queue } from '../src/queue.js';
import { FileStorage } from '../src/file/file-storage.js';
import { TestClock } from '../src/test-clock.js';

const fault = vi.hoisted(() => ({ crc: false }));

vi.mock(import('../src/file/crc32.js'), async (original) => {
  const real = await original();
  return {
    ...real,
    crc32: (data: Uint8Array, initial?: number) => {
      if (fault.crc) throw new TypeError('crc32 is not a function');
      return real.crc32(data, initial);
    },
  };
});

afterEach(() => {
  fault.crc = false;
});

describe.each(['never', 'always'] as const)('FileStorage (fsync %s): a fault while framing a batch', (fsync) => {
  it('.send() - rejects with ERR_STORAGE_FAILED when the CRC throws, and so does every later operation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pocketmq-flush-fault-'));
    const storage = new FileStorage({ dir, fsync, clock: new TestClock(1_000) });
    const errors: Error[] = [];
    storage.on('error', (error) => errors.push(error));
    const queue = new Queue<string>('jobs', { storage });
    try {
      await queue.send('kept');
      fault.crc = true;
      // Before the fix these stayed pending for ever; the test timeout catches that.
      const sends = [queue.send('a'), queue.send('b')];
      for (const send of sends) {
        await expect(send).rejects.toMatchObject({ code: 'ERR_STORAGE_FAILED', cause: { message: 'crc32 is not a function' } });
      }
      fault.crc = false;
      await expect(queue.send('after')).rejects.toMatchObject({ code: 'ERR_STORAGE_FAILED' });
      expect(errors).toHaveLength(1);
    } finally {
      await storage.close().catch(() => undefined);
    }
    const reopened = new FileStorage({ dir, clock: new TestClock(1_000) });
    expect((await reopened.peek('jobs', 10, 1_000)).map((m) => m.body)).toEqual(['kept']);
    await reopened.close();
    rmSync(dir, { recursive: true, force: true });
  }, 10_000);
});
