/**
 * Runs the Jest version of the recipes (examples/testing/jest/) in both module systems, the
 * way their headers say, so that they cannot rot either.
 *
 * They import 'pocketmq' as a user does, through the exports map, so they need a build. Not
 * the repository's dist/: test/package.test.ts may rebuild it while this runs. The package is
 * built into a temp project of its own (JavaScript only; Jest needs no .d.ts), beside a copy of
 * the recipes and links to the repository's Jest, as `npm install` would lay it out.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** What `jest --json` prints, as far as this test reads it. */
interface JestReport {
  success: boolean;
  numTotalTests: number;
  numPassedTests: number;
  testResults: { name: string; message: string; assertionResults: { title: string; status: string }[] }[];
}

let project: string;

beforeAll(async () => {
  project = mkdtempSync(join(tmpdir(), 'pocketmq-jest-recipes-'));
  const pkgDir = join(project, 'node_modules', 'pocketmq');
  mkdirSync(pkgDir, { recursive: true });
  writeFileSync(join(pkgDir, 'package.json'), readFileSync(join(root, 'package.json')));
  await run(join(root, 'node_modules', '.bin', 'tsup'), ['--out-dir', join(pkgDir, 'dist'), '--no-dts', '--no-sourcemap', '--silent'], { cwd: root, maxBuffer: 64 << 20 });
  for (const name of ['jest', '@jest']) symlinkSync(join(root, 'node_modules', name), join(project, 'node_modules', name), 'junction');
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'jest-recipes', private: true }));
  cpSync(join(root, 'examples', 'testing', 'jest'), project, { recursive: true });
});

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

/** Runs Jest in the temp project on one recipe file; a failing run still yields its report. */
async function jest(nodeFlags: string[], file: string): Promise<JestReport> {
  const args = [...nodeFlags, join(project, 'node_modules', 'jest', 'bin', 'jest.js'), '--config', 'jest.config.mjs', '--ci', '--runInBand', '--json', file];
  const { stdout } = await run(process.execPath, args, { cwd: project, timeout: 90_000, maxBuffer: 64 << 20 }).catch((e: { stdout?: string; stderr?: string }) => {
    if (e.stdout?.startsWith('{')) return { stdout: e.stdout };
    throw new Error(`jest did not run:\n${e.stderr ?? String(e)}`);
  });
  return JSON.parse(stdout) as JestReport;
}

/** The run's failures, readable in vitest's output: the expectation below shows them. */
const failures = (report: JestReport) => report.testResults.map((file) => file.message).filter(Boolean);

const RECIPES = [
  'signup() queues one welcome email for the new user',
  'an unreachable mail server: retried for about a week, then dead-lettered',
  "beside Jest's fake timers: your timers on Jest's, pocketmq's on the TestClock",
];

it('jest (ES modules, --experimental-vm-modules) passes examples/testing/jest/signup.test.mjs', { timeout: 120_000 }, async () => {
  const report = await jest(['--experimental-vm-modules'], 'signup.test.mjs');
  expect(failures(report)).toEqual([]);
  expect(report.testResults.map((file) => file.name)).toEqual([join(project, 'signup.test.mjs')]);
  expect(report.testResults[0]!.assertionResults).toEqual(RECIPES.map((title) => expect.objectContaining({ title, status: 'passed' })));
  expect(report).toMatchObject({ success: true, numTotalTests: 3, numPassedTests: 3 });
});

it('jest (CommonJS) passes examples/testing/jest/signup.test.cjs', { timeout: 120_000 }, async () => {
  const report = await jest([], 'signup.test.cjs');
  expect(failures(report)).toEqual([]);
  expect(report.testResults.map((file) => file.name)).toEqual([join(project, 'signup.test.cjs')]);
  expect(report.testResults[0]!.assertionResults).toEqual(RECIPES.map((title) => expect.objectContaining({ title, status: 'passed' })));
  expect(report).toMatchObject({ success: true, numTotalTests: 3, numPassedTests: 3 });
});
