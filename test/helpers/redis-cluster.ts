import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { freePort } from './redis-server.js';

const run = promisify(execFile);

/** A Redis Cluster of three masters (no replicas) on 127.0.0.1, for tests. */
export interface RedisCluster {
  /** The client port of each node. */
  readonly ports: readonly number[];
  /** A new ioredis `Cluster` client with the options RedisStorage wants; close it yourself. */
  client(): Cluster;
  /** A plain client of each node, for CLUSTER and key-slot queries. */
  node(port: number): Redis;
  /** Stops every node and removes their directories. */
  close(): Promise<void>;
}

const NODES = 3;
/** Redis Cluster's bus listens on the client port + 10000, so both must be free. */
const BUS_OFFSET = 10_000;

function listenable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + BUS_OFFSET > 65_535 || taken.has(port)) continue;
    if (await listenable(port + BUS_OFFSET)) return port;
  }
}

function launch(port: number, dir: string): Promise<ChildProcess> {
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no',
    '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '5000',
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
    child.once('exit', (code) => reject(new Error(`redis-server (cluster node ${port}) exited with code ${code} before it was ready:\n${output}`)));
    child.once('error', reject);
  });
}

/** Resolves when every node reports `cluster_state:ok` (slots assigned and the nodes agree). */
async function untilClusterOk(nodes: readonly Redis[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const infos = await Promise.all(nodes.map((node) => node.cluster('INFO') as Promise<string>));
    if (infos.every((info) => info.includes('cluster_state:ok'))) return;
    if (Date.now() > deadline) throw new Error(`Redis Cluster did not reach cluster_state:ok:\n${infos.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Starts three `redis-server --cluster-enabled yes` on free loopback ports, each in a
 * temporary directory, joins them with `redis-cli --cluster create` (three masters, no
 * replicas) and waits until all of them say `cluster_state:ok`.
 */
export async function startRedisCluster(): Promise<RedisCluster> {
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < NODES; i++) {
    const port = await freeClusterPort(taken);
    taken.add(port);
    ports.push(port);
  }
  const dir = mkdtempSync(join(tmpdir(), 'pocketmq-redis-cluster-'));
  const children: ChildProcess[] = [];
  const nodes = new Map<number, Redis>();
  const close = async () => {
    for (const node of nodes.values()) node.disconnect();
    await Promise.all(
      children.map((child) => {
        if (child.exitCode !== null || child.signalCode !== null) return undefined;
        return new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        });
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const child of await Promise.all(ports.map((port) => launch(port, dir)))) children.push(child);
    await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes']);
    for (const port of ports) nodes.set(port, new Redis({ host: '127.0.0.1', port, lazyConnect: false }));
    await untilClusterOk([...nodes.values()]);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    ports,
    client: () =>
      new Cluster(
        ports.map((port) => ({ host: '127.0.0.1', port })),
        { redisOptions: { maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false } },
      ),
    node: (port) => {
      const node = nodes.get(port);
      if (!node) throw new Error(`No cluster node listens on port ${port}`);
      return node;
    },
    close,
  };
}
