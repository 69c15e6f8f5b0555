import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** A Redis server the tests may use: a redis-server child process on 127.0.0.1, or REDIS_URL's. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** The server's working directory (its AOF lives here). */
  readonly dir: string;
  /** Stops the server (SIGTERM by default; SIGKILL to crash it) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Stops it and starts it again on the same port and directory. */
  restart(): Promise<void>;
  /** Stops it and removes its directory; on REDIS_URL's server, deletes the keys of every {@link prefix} instead. */
  close(): Promise<void>;
  /** A key prefix no other test, process or run uses, which `close()` cleans up on REDIS_URL's server. */
  prefix(label: string): string;
}

/** What the Redis tests need: any server (REDIS_URL's will do), or one they start, stop and crash themselves. */
export type RedisNeed = 'server' | 'own-server';

const BINARY = 'redis-server';
/** In every prefix this process hands out, so the keys of one run can be found and deleted. */
const RUN_TAG = `pmqtest-${process.pid}-${Date.now().toString(36)}`;
let prefixes = 0;
const prefixOf = (label: string) => `${label}-${RUN_TAG}-${++prefixes}`;

let probed: boolean | undefined;

/** Asked once per process: every Redis test file calls redisSkipReason() while it is collected. */
function installed(): boolean {
  if (probed === undefined) {
    const probe = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
    probed = !probe.error && probe.status === 0;
  }
  return probed;
}

/**
 * The one line that says why Redis tests that need `need` cannot run here and how to run them,
 * or undefined when they run. Never a reason under CI (`CI=true`): there a missing redis-server
 * fails the tests, because a Redis test that silently does not run makes a green run mean nothing.
 */
export function redisSkipReason(need: RedisNeed = 'server', env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (isCI(env) || installed()) return undefined;
  if (env.REDIS_URL && need === 'server') return undefined;
  if (env.REDIS_URL) {
    return 'Skipping the Redis tests that stop and restart a redis-server of their own: redis-server is not installed (REDIS_URL serves the others). Install redis-server to run them.';
  }
  return 'Skipping the Redis tests: redis-server is not installed. To run them, install redis-server (apt-get install redis-server, brew install redis) or set REDIS_URL to a Redis server the tests may write to.';
}

const isCI = (env: NodeJS.ProcessEnv) => Boolean(env.CI) && env.CI !== 'false' && env.CI !== '0';

function checkInstalled(): void {
  if (!installed()) {
    throw new Error(
      `redis-server is not installed (needed by the RedisStorage tests${process.env.CI ? ', and CI must provide it' : ''}). ` +
        'Install it with `apt-get install -y redis-server`; .ci/run does this when it is missing.',
    );
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function launch(port: number, dir: string, appendOnly: boolean, config: readonly string[]): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', '--protected-mode', 'yes'];
  args.push('--appendonly', appendOnly ? 'yes' : 'no');
  if (appendOnly) args.push('--appendfsync', 'always');
  args.push(...config);
  const child = spawn(BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`redis-server exited with code ${code} before it was ready:\n${output}`)));
    child.once('error', reject);
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts redis-server on a free port in a fresh temporary directory: for tests that need a server of their own.
 * `config`: more command-line configuration, e.g. `['--requirepass', 'secret', '--user', 'app', 'on', ...]`.
 */
export async function startRedis(options: { appendOnly?: boolean; config?: readonly string[] } = {}): Promise<RedisServer> {
  checkInstalled();
  const dir = mkdtempSync(join(tmpdir(), 'pocketmq-redis-'));
  const port = await freePort();
  const appendOnly = options.appendOnly ?? false;
  const config = options.config ?? [];
  let child: ChildProcess | undefined = await launch(port, dir, appendOnly, config);
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const running = child;
    child = undefined;
    if (!running) return;
    running.kill(signal);
    await exited(running);
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    prefix: prefixOf,
    stop,
    async restart() {
      await stop();
      child = await launch(port, dir, appendOnly, config);
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The server for tests that only need one: REDIS_URL's when it is set (its keys are left as
 * they were: `close()` deletes only the keys under this process's prefixes), otherwise a
 * redis-server of this process's own.
 */
export async function useRedis(): Promise<RedisServer> {
  const url = process.env.REDIS_URL;
  if (!url) return startRedis();
  const notOwned = (what: string) => () => Promise.reject(new Error(`${what} needs a redis-server of the test's own, not REDIS_URL's`));
  return {
    port: Number(new URL(url).port || 6379),
    url,
    dir: '',
    prefix: prefixOf,
    stop: notOwned('stop()'),
    restart: notOwned('restart()'),
    async close() {
      const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await admin.connect();
        let cursor = '0';
        do {
          const [next, keys] = await admin.scan(cursor, 'MATCH', `*${RUN_TAG}*`, 'COUNT', 1000);
          if (keys.length > 0) await admin.unlink(...keys);
          cursor = next;
        } while (cursor !== '0');
      } finally {
        admin.disconnect();
      }
    },
  };
}
