/**
 * The `pocketmq` bin on FileStorage directories, spawned from dist/ as a user runs it:
 * output (tables and --json), exit codes, --help, and a directory another process holds.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FileStorage } from '../src/file/file-storage.js';
import { Queue } from '../src/queue.js';
import { buildCli, cli, CLI, startCli } from './helpers/cli.js';

const OWNER = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'file-owner.ts');
const COMMANDS = ['ls', 'peek', 'redrive', 'purge', 'stats', 'dashboard'];
const dirs: string[] = [];
const children: ChildProcess[] = [];

beforeAll(buildCli, 180_000);

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pmq-cli-'));
  dirs.push(dir);
  return dir;
}

/** A directory with orders 3-5 ready (one with a control sequence in its body and a header), orders 1-2 dead-lettered, and one delayed. */
async function queues(): Promise<string> {
  const dir = tempDir();
  const storage = new FileStorage({ dir });
  const orders = new Queue<{ n: number; note?: string }>('orders', { storage, maxAttempts: 1 });
  for (let n = 1; n <= 5; n++) {
    await orders.send(n === 5 ? { n, note: 'red\u001b[31mtext' } : { n }, { headers: n === 5 ? { type: 'order', note: 'red\u001b[31mtext' } : { type: 'order' } });
  }
  for (const msg of await orders.receive({ max: 2 })) await msg.deadLetter('bad-input');
  await new Queue('later', { storage }).send({ n: 6 }, { delay: 3_600_000 });
  await storage.close();
  return dir;
}

function hashes(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).map((name) => [name, createHash('sha256').update(readFileSync(join(dir, name))).digest('hex')]));
}

const parse = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;

describe('pocketmq CLI on --file', () => {
  it('ls - prints a table of the queues and their counts', async () => {
    const dir = await queues();
    const { code, stdout, stderr } = await cli(['ls', '--file', dir]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const rows = stdout.trim().split('\n').map((line) => line.split(/\s+/));
    expect(rows).toEqual([
      ['QUEUE', 'READY', 'DELAYED', 'INFLIGHT', 'SENT', 'ACKED', 'DEAD-LETTERED'],
      ['later', '0', '1', '0', '1', '0', '0'],
      ['orders', '3', '0', '0', '5', '0', '2'],
      ['orders.dlq', '2', '0', '0', '2', '0', '0'],
    ]);
  });

  it('ls --json - prints the queues with their stats', async () => {
    const dir = await queues();
    const { code, stdout } = await cli(['ls', '--json', '--file', dir]);
    expect(code).toBe(0);
    const { queues: list } = parse(stdout) as { queues: { name: string; stats: Record<string, number> }[] };
    expect(list.map((q) => q.name)).toEqual(['later', 'orders', 'orders.dlq']);
    expect(list[1]!.stats).toMatchObject({ ready: 3, delayed: 0, inflight: 0, sent: 5, deadLettered: 2 });
  });

  it('peek - lists dead letters with their x-dead-* headers, and escapes control characters', async () => {
    const dir = await queues();
    const dead = await cli(['peek', 'orders.dlq', '--file', dir]);
    expect(dead.code).toBe(0);
    expect(dead.stdout).toMatch(/^ID\s+ATTEMPT\s+ENQUEUED\s+HEADERS\s+BODY\n/);
    expect(dead.stdout.match(/x-dead-reason=bad-input/g)).toHaveLength(2);
    expect(dead.stdout).toContain('{"n":1}');
    const ready = await cli(['peek', 'orders', '--file', dir]);
    expect(ready.stdout).toContain('note=red\\u001b[31mtext');
    expect(ready.stdout).toContain('"note":"red\\u001b[31mtext"');
    expect(ready.stdout).not.toContain('\u001b');
  });

  it('peek --json - prints whole messages; -n bounds them; --state delayed lists delayed ones', async () => {
    const dir = await queues();
    const { code, stdout } = await cli(['peek', 'orders.dlq', '-n', '1', '--json', '--file', dir]);
    expect(code).toBe(0);
    const { messages } = parse(stdout) as { messages: Record<string, unknown>[] };
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      body: { n: 1 },
      headers: { type: 'order', 'x-dead-reason': 'bad-input', 'x-original-queue': 'orders' },
      attempt: 0,
      state: 'ready',
      correlationId: null,
      leaseUntil: null,
    });
    const delayed = await cli(['peek', 'later', '--state', 'delayed', '--json', '--file', dir]);
    expect((parse(delayed.stdout).messages as Record<string, unknown>[]).map((m) => [m.body, m.state])).toEqual([[{ n: 6 }, 'delayed']]);
    const none = await cli(['peek', 'later', '--file', dir]);
    expect(none).toEqual({ code: 0, stdout: 'No ready messages in later.\n', stderr: '' });
  });

  it('redrive - moves dead letters back to their queue; --max and --to choose how many and where', async () => {
    const dir = await queues();
    const one = await cli(['redrive', 'orders.dlq', '--max', '1', '--to', 'orders.retry', '--file', dir]);
    expect(one).toEqual({ code: 0, stdout: 'Moved 1 message out of orders.dlq to orders.retry.\n', stderr: '' });
    const rest = await cli(['redrive', 'orders.dlq', '--json', '--file', dir]);
    expect(rest.code).toBe(0);
    expect(parse(rest.stdout)).toEqual({ moved: 1 });
    const { stdout } = await cli(['ls', '--json', '--file', dir]);
    const ready = Object.fromEntries((parse(stdout).queues as { name: string; stats: { ready: number } }[]).map((q) => [q.name, q.stats.ready]));
    expect(ready).toEqual({ later: 0, orders: 4, 'orders.dlq': 0, 'orders.retry': 1 });
  });

  it('purge - refuses without --yes (exit code 2, nothing deleted), deletes with it', async () => {
    const dir = await queues();
    const refused = await cli(['purge', 'orders', '--file', dir]);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/^pocketmq: --yes: .*orders.*nothing was deleted/);
    expect(parse((await cli(['stats', 'orders', '--json', '--file', dir])).stdout)).toMatchObject({ stats: { ready: 3 } });
    const purged = await cli(['purge', 'orders', '--yes', '--json', '--file', dir]);
    expect(purged.code).toBe(0);
    expect(parse(purged.stdout)).toEqual({ purged: 3 });
    expect(parse((await cli(['stats', 'orders', '--json', '--file', dir])).stdout)).toMatchObject({ name: 'orders', stats: { ready: 0, sent: 5 } });
  });

  it('stats - prints every count of the queue', async () => {
    const dir = await queues();
    const { code, stdout } = await cli(['stats', 'orders', '--file', dir]);
    expect(code).toBe(0);
    expect(Object.fromEntries(stdout.trim().split('\n').map((line) => line.split(/\s+/)))).toEqual({
      QUEUE: 'orders',
      ready: '3',
      delayed: '0',
      inflight: '0',
      sent: '5',
      delivered: '2',
      acked: '0',
      retried: '0',
      deadLettered: '2',
      expired: '0',
    });
  });

  it('stats --watch - prints a line per interval that follows changes, without holding the directory', async () => {
    const dir = await queues();
    const watch = startCli(['stats', 'orders', '--watch', '--interval', '100', '--json', '--file', dir]);
    children.push(watch.child);
    const [first] = await watch.lines(1);
    expect(parse(first!)).toMatchObject({ name: 'orders', stats: { ready: 3 } });
    // The watcher does not hold the directory: the app can open it and send meanwhile.
    const storage = new FileStorage({ dir });
    await new Queue('orders', { storage }).send({ n: 7 });
    const lines = await watch.lines(30);
    expect(lines.map((line) => (parse(line).stats as { ready: number }).ready)).toContain(4);
    await storage.close();
    watch.child.kill('SIGTERM');
    expect(await watch.exited).toBe(0);
  });

  it.each(COMMANDS)('%s --help - prints its usage, options and exit codes', async (command) => {
    const { code, stdout, stderr } = await cli([command, '--help']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(new RegExp(`^Usage: pocketmq ${command}`));
    expect(stdout).toContain('--file DIR');
    expect(stdout).toContain('Exit codes:');
  });

  it('--help - lists every command; --version prints the version; no command is a usage error', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const command of COMMANDS) expect(help.stdout).toMatch(new RegExp(`^  ${command}\\s`, 'm'));
    const version = await cli(['--version']);
    expect(version).toEqual({ code: 0, stdout: `${JSON.parse(readFileSync(join(dirname(CLI), '..', 'package.json'), 'utf8')).version}\n`, stderr: '' });
    const bare = await cli([]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('Usage: pocketmq <command>');
  });

  it.each([
    [['lsx', '--file', '.'], /unknown command "lsx"/],
    [['peek', 'orders', '--bogus', '--file', '.'], /Unknown option '--bogus'/],
    [['peek', 'orders', '-n', '0', '--file', '.'], /--max: expected an integer from 1 to 10000, got "0"/],
    [['peek', 'orders', '--state', 'dead', '--file', '.'], /--state: expected ready, delayed or inflight, got "dead"/],
    [['peek', '--file', '.'], /<queue>: expected a queue name/],
    [['stats', 'orders', '--interval', 'fast', '--file', '.'], /--interval: expected an integer/],
    [['ls'], /expected exactly one of --file DIR, --redis URL or --url URL/],
    [['ls', '--file', '.', '--redis', 'redis://localhost'], /got --file and --redis/],
    [['ls', '--file', '/nonexistent/pocketmq'], /--file: expected an existing directory, got "\/nonexistent\/pocketmq"/],
    [['ls', '--redis', 'localhost:6379'], /--redis: expected a redis:\/\/ or rediss:\/\/ URL/],
    [['ls', '--url', 'localhost:4000'], /--url: expected an http:\/\/ or https:\/\/ address/],
    [['ls', '--file', '.', '--token', 'x'], /--token: only goes with --url or dashboard/],
  ])('%j - exits 2 with one line naming the argument', async (args, message) => {
    const { code, stdout, stderr } = await cli(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it('peek of a bad queue name - exits 2 naming it', async () => {
    const dir = await queues();
    const { code, stderr } = await cli(['peek', '../etc', '--file', dir]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^pocketmq: .*name/);
  });

  it('a damaged log - exits 1 with the error on one line', async () => {
    const dir = await queues();
    const segment = readdirSync(dir).find((name) => name.startsWith('log-'))!;
    writeFileSync(join(dir, segment), 'not a pocketmq log at all');
    const { code, stdout, stderr } = await cli(['ls', '--file', dir]);
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
    expect(stderr).toMatch(/^pocketmq: Log file ".*" is corrupt/);
  });

  it('--redis without ioredis installed - exits 1 saying how to install it', async () => {
    // The built CLI alone, where no node_modules can provide ioredis.
    const alone = tempDir();
    cpSync(dirname(CLI), join(alone, 'dist'), { recursive: true });
    writeFileSync(join(alone, 'package.json'), JSON.stringify({ type: 'module' }));
    const { code, stderr } = await cli(['ls', '--redis', 'redis://127.0.0.1:1'], {}, join(alone, 'dist', 'cli.js'));
    expect(code).toBe(1);
    expect(stderr).toMatch(/^pocketmq: --redis needs the ioredis package.*npm install ioredis/);
  });
});

describe('pocketmq CLI on a --file directory another process holds', () => {
  /** Starts test/fixtures/file-owner.ts on `dir`; resolves once it holds it. */
  function owner(dir: string, mode: 'idle' | 'busy'): Promise<ChildProcess> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', OWNER, dir, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        if (chunk.includes('READY')) resolve(child);
      });
      child.on('exit', (code) => reject(new Error(`owner exited with ${code}`)));
    });
  }

  it('ls, peek and stats read it; purge and redrive exit 3 pointing to the dashboard; no byte changes', async () => {
    const dir = tempDir();
    const child = await owner(dir, 'idle');
    const before = hashes(dir);
    const ls = await cli(['ls', '--json', '--file', dir]);
    expect(ls.code).toBe(0);
    expect((parse(ls.stdout).queues as { name: string; stats: { ready: number } }[]).map((q) => [q.name, q.stats.ready])).toEqual([
      ['orders', 3],
      ['orders.dlq', 2],
    ]);
    expect(ls.stderr).toContain(`held by process ${child.pid}: opened read-only`);
    const peek = await cli(['peek', 'orders.dlq', '--json', '--file', dir]);
    expect((parse(peek.stdout).messages as { body: unknown }[]).map((m) => m.body)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(parse((await cli(['stats', 'orders', '--json', '--file', dir])).stdout)).toMatchObject({ stats: { ready: 3, sent: 5 } });

    for (const args of [
      ['purge', 'orders', '--yes'],
      ['redrive', 'orders.dlq'],
    ]) {
      const refused = await cli([...args, '--file', dir]);
      expect(refused.code).toBe(3);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toMatch(new RegExp(`${args[0]} refused: .*held by process ${child.pid}.*dashboard.*--url`));
    }
    expect(hashes(dir)).toEqual(before);
  });

  it('ls reads it while the owner keeps writing', async () => {
    const dir = tempDir();
    await owner(dir, 'busy');
    const sent: number[] = [];
    for (let i = 0; i < 4; i++) {
      const { code, stdout, stderr } = await cli(['ls', '--json', '--file', dir]);
      expect(code, stderr).toBe(0);
      sent.push((parse(stdout).queues as { name: string; stats: { sent: number } }[]).find((q) => q.name === 'busy')?.stats.sent ?? 0);
    }
    expect(sent.at(-1)!).toBeGreaterThan(sent[0]!);
  });
});
