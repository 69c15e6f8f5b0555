import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A redis-server child process on 127.0.0.1, for tests. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** The server's working directory (its AOF lives here). */
  readonly dir: string;
  /** Stops the server (SIGTERM by default; SIGKILL to crash it) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Stops it and starts it again on the same port and directory. */
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}

const BINARY = 'redis-server';

/**
 * Fails, never skips, when redis-server is not installed: a Redis test that
 * silently does not run would make a green run mean nothing. `.ci/run` installs it.
 */
function checkInstalled(): void {
  const probe = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
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

function launch(port: number, dir: string, appendOnly: boolean): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', '--protected-mode', 'yes'];
  args.push('--appendonly', appendOnly ? 'yes' : 'no');
  if (appendOnly) args.push('--appendfsync', 'always');
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

/** Starts redis-server on a free port in a fresh temporary directory. */
export async function startRedis(options: { appendOnly?: boolean } = {}): Promise<RedisServer> {
  checkInstalled();
  const dir = mkdtempSync(join(tmpdir(), 'pocketmq-redis-'));
  const port = await freePort();
  const appendOnly = options.appendOnly ?? false;
  let child: ChildProcess | undefined = await launch(port, dir, appendOnly);
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
    stop,
    async restart() {
      await stop();
      child = await launch(port, dir, appendOnly);
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
