/**
 * dist/ for the tests that use the built package (test/package.test.ts, test/cli*.test.ts):
 * rebuilt when missing or older than its inputs, by one test process at a time, since
 * tsup empties dist/ first and test files run in parallel.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const INPUTS = ['src', 'package.json', 'tsconfig.json', 'tsup.config.ts'].map((p) => join(root, p));
/** A lock held longer than this was left by a test process that died mid-build. */
const STALE_LOCK_MS = 5 * 60_000;

function newestMtime(paths: readonly string[]): number {
  let newest = 0;
  for (const p of paths) {
    if (!existsSync(p)) continue;
    const files = statSync(p).isDirectory()
      ? readdirSync(p, { recursive: true, withFileTypes: true })
          .filter((d) => d.isFile())
          .map((d) => join(d.parentPath, d.name))
      : [p];
    for (const f of files) newest = Math.max(newest, statSync(f).mtimeMs);
  }
  return newest;
}

function isFresh(outputs: readonly string[]): boolean {
  const paths = outputs.map((o) => join(root, o));
  if (!paths.every((p) => existsSync(p))) return false;
  return Math.min(...paths.map((p) => statSync(p).mtimeMs)) >= newestMtime(INPUTS);
}

/** Builds dist/ unless every file of `outputs` (paths from the repository root) is there and newer than the build's inputs. */
export async function ensureBuilt(outputs: readonly string[]): Promise<void> {
  if (isFresh(outputs)) return;
  const lock = join(tmpdir(), `pocketmq-build-${createHash('sha256').update(root).digest('hex').slice(0, 16)}.lock`);
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    // Another test process may have built it while this one waited.
    if (isFresh(outputs)) return;
    await promisify(execFile)('npm', ['run', 'build', '--silent'], { cwd: root, maxBuffer: 64 << 20 }).catch((e: { stdout?: string; stderr?: string }) => {
      throw new Error(`npm run build failed:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
    });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
