import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileStorage } from '../src/file.js';
import { type PocketMQError, Queue } from '../src/index.js';
import { TestClock } from '../src/testing.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function dirWithMode(mode: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'pmq-mode-'));
  dirs.push(dir);
  chmodSync(dir, mode);
  return dir;
}

describe('FileStorage directory mode', () => {
  it('open() on a 0777 directory - emits a warning (ERR_STORAGE_DIR_WORLD_WRITABLE) and leaves the mode as it is', async () => {
    const dir = dirWithMode(0o777);
    const storage = new FileStorage({ dir, clock: new TestClock() });
    const warnings: PocketMQError[] = [];
    storage.on('warning', (w) => warnings.push(w));
    await new Queue('q', { storage }).send('x');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ code: 'ERR_STORAGE_DIR_WORLD_WRITABLE' });
    expect(warnings[0]!.message).toContain('mode 777');
    expect(statSync(dir).mode & 0o777).toBe(0o777);
    await storage.close();
  });

  it('open() on a 0777 directory without a listener - a process warning', async () => {
    const dir = dirWithMode(0o777);
    const storage = new FileStorage({ dir, clock: new TestClock() });
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      await storage.open();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
      await storage.close();
    }
    expect(warnings.map((w) => (w as PocketMQError).code)).toContain('ERR_STORAGE_DIR_WORLD_WRITABLE');
  });

  it('open() on a 0700 or 0750 directory - no warning', async () => {
    for (const mode of [0o700, 0o750]) {
      const storage = new FileStorage({ dir: dirWithMode(mode), clock: new TestClock() });
      const warnings: Error[] = [];
      storage.on('warning', (w) => warnings.push(w));
      await storage.open();
      await storage.close();
      expect(warnings).toEqual([]);
    }
  });
});
