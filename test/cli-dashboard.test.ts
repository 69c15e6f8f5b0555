/**
 * `pocketmq dashboard` and `--url`: the built bin serves a storage's dashboard, and works
 * on a running dashboard through its JSON API, including one an app mounts over a
 * directory it holds (the way to change such a directory).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FileStorage } from '../src/file/file-storage.js';
import { Queue } from '../src/queue.js';
import { buildCli, cli, startCli } from './helpers/cli.js';
import { freePort } from './helpers/redis-server.js';

const APP = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'dashboard-app.ts');
const dirs: string[] = [];
const children: ChildProcess[] = [];

beforeAll(buildCli, 180_000);

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A directory with orders 3-5 ready and orders 1-2 dead-lettered. */
async function queues(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'pmq-cli-dashboard-'));
  dirs.push(dir);
  const storage = new FileStorage({ dir });
  const orders = new Queue<{ n: number }>('orders', { storage, maxAttempts: 1 });
  for (let n = 1; n <= 5; n++) await orders.send({ n });
  for (const msg of await orders.receive({ max: 2 })) await msg.deadLetter('bad-input');
  await storage.close();
  return dir;
}

/** `pocketmq dashboard ... --port 0 --json`; resolves with its URL once it listens. */
async function serve(args: readonly string[]): Promise<{ url: string; child: ChildProcess; exited: Promise<number | null> }> {
  const running = startCli(['dashboard', '--port', '0', '--json', ...args]);
  children.push(running.child);
  const [line] = await running.lines(1);
  return { url: (JSON.parse(line!) as { url: string }).url, child: running.child, exited: running.exited };
}

const parse = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;
const readyCounts = (stdout: string) => Object.fromEntries((parse(stdout).queues as { name: string; stats: { ready: number } }[]).map((q) => [q.name, q.stats.ready]));

describe('pocketmq dashboard, and the CLI on --url', () => {
  it('with --token: ls, peek, redrive and purge work through --url with the token, and exit 3 without it', async () => {
    const dir = await queues();
    const { url, child, exited } = await serve(['--file', dir, '--token', 's3cret']);
    const ls = await cli(['ls', '--url', url, '--token', 's3cret']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(/^orders\s+3\s+0\s+0\s+5\s+0\s+2$/m);
    const peek = await cli(['peek', 'orders.dlq', '--json', '--url', url], { PMQ_TOKEN: 's3cret' });
    expect((parse(peek.stdout).messages as { body: unknown; headers: Record<string, string>; leaseUntil: unknown }[]).map((m) => [m.body, m.headers['x-dead-reason'], m.leaseUntil])).toEqual([
      [{ n: 1 }, 'bad-input', null],
      [{ n: 2 }, 'bad-input', null],
    ]);
    const stats = await cli(['stats', 'orders', '--json', '--url', url, '--token', 's3cret']);
    expect(parse(stats.stdout)).toMatchObject({ name: 'orders', stats: { ready: 3, sent: 5 } });

    const refused = await cli(['purge', 'orders', '--yes', '--url', url]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/^pocketmq: --url .*--token or PMQ_TOKEN/);
    const wrong = await cli(['ls', '--url', url, '--token', 'guess']);
    expect(wrong.code).toBe(3);

    expect(await cli(['redrive', 'orders.dlq', '--max', '1', '--json', '--url', url, '--token', 's3cret'])).toMatchObject({ code: 0, stdout: '{"moved":1}\n' });
    expect(await cli(['purge', 'orders', '--yes', '--json', '--url', url, '--token', 's3cret'])).toMatchObject({ code: 0, stdout: '{"purged":4}\n' });
    expect(readyCounts((await cli(['ls', '--json', '--url', url, '--token', 's3cret'])).stdout)).toEqual({ orders: 0, 'orders.dlq': 1 });
    const bad = await cli(['peek', '../x', '--url', url, '--token', 's3cret']);
    expect(bad.code).toBe(2);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // Stopped cleanly: the directory's lock is free again.
    const storage = new FileStorage({ dir });
    await storage.open();
    await storage.close();
  });

  it('without a token: read-only, so changes through --url exit 3', async () => {
    const dir = await queues();
    const { url } = await serve(['--file', dir]);
    expect(readyCounts((await cli(['ls', '--json', '--url', url])).stdout)).toEqual({ orders: 3, 'orders.dlq': 2 });
    const refused = await cli(['redrive', 'orders.dlq', '--url', url]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/^pocketmq: --url .*read-only/i);
  });

  it('a directory another process holds: the CLI changes it through that process\'s dashboard, and refuses to serve it itself', async () => {
    const dir = await queues();
    const port = await freePort();
    const app = spawn(process.execPath, ['--import', 'tsx', APP, dir, String(port), 's3cret'], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(app);
    await new Promise<void>((resolve, reject) => {
      app.stdout!.setEncoding('utf8').on('data', (chunk: string) => chunk.includes('READY') && resolve());
      app.on('exit', (code) => reject(new Error(`app exited with ${code}`)));
    });
    const direct = await cli(['redrive', 'orders.dlq', '--file', dir]);
    expect(direct.code).toBe(3);
    const url = `http://127.0.0.1:${port}/`;
    expect(await cli(['redrive', 'orders.dlq', '--json', '--url', url, '--token', 's3cret'])).toMatchObject({ code: 0, stdout: '{"moved":2}\n' });
    expect(readyCounts((await cli(['ls', '--json', '--url', url, '--token', 's3cret'])).stdout)).toEqual({ orders: 5, 'orders.dlq': 0 });

    const served = await cli(['dashboard', '--port', '0', '--file', dir]);
    expect(served.code).toBe(3);
    expect(served.stderr).toMatch(/^pocketmq: dashboard refused: .*held by process \d+; mount pocketmq\/dashboard in that process/);
  });

  it('--url where nothing answers - exits 1 with one line', async () => {
    const { code, stdout, stderr } = await cli(['ls', '--url', `http://127.0.0.1:${await freePort()}`]);
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
    expect(stderr).toMatch(/^pocketmq: --url http:\/\/127\.0\.0\.1:\d+: no dashboard answered/);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it('dashboard on a port in use - exits 1 naming --port', async () => {
    const dir = await queues();
    const { url } = await serve(['--file', await queues()]);
    const port = new URL(url).port;
    const { code, stderr } = await cli(['dashboard', '--port', port, '--file', dir]);
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`^pocketmq: --port ${port} --host 127\\.0\\.0\\.1: cannot listen \\(.*EADDRINUSE`));
  });
});
