/** Runs the built `pocketmq` bin (dist/cli.js) as a user would, for test/cli*.test.ts. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { ensureBuilt, root } from './dist.js';

export const CLI = join(root, 'dist', 'cli.js');

/** Builds dist/ when it is older than src/ (call in a beforeAll). */
export function buildCli(): Promise<void> {
  return ensureBuilt(['dist/cli.js', 'dist/index.js', 'dist/file.js', 'dist/redis.js']);
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `node dist/cli.js ...args`; resolves with its exit code and output whatever the code. */
export function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}, script = CLI): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script, ...args], { env: { ...process.env, PMQ_TOKEN: '', ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (error as { code?: unknown }).code : 0;
      if (typeof code !== 'number') reject(error ?? new Error('no exit code'));
      else resolve({ code, stdout, stderr });
    });
  });
}

/** Starts a long-running command (`stats --watch`, `dashboard`); `lines(n)` resolves with its first n stdout lines. */
export function startCli(args: readonly string[]): { child: ChildProcess; lines(n: number): Promise<string[]>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiting: { n: number; resolve: (lines: string[]) => void }[] = [];
  const check = () => {
    const lines = out.split('\n').slice(0, -1);
    for (const w of waiting.splice(0)) {
      if (lines.length >= w.n) w.resolve(lines.slice(0, w.n));
      else waiting.push(w);
    }
  };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    check();
  });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    lines: (n) =>
      new Promise((resolve, reject) => {
        waiting.push({ n, resolve });
        check();
        void exited.then((code) => reject(new Error(`pocketmq exited with ${code} before printing ${n} lines: ${out}${err}`)));
      }),
  };
}
