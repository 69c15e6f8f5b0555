/**
 * The trace context travels with the message: through a FileStorage restart, and from
 * one process to another on Redis.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FileStorage } from '../../src/file.js';
import { instrument } from '../../src/otel.js';
import { Queue } from '../../src/queue.js';
import { RedisStorage } from '../../src/redis.js';
import { TestClock } from '../../src/testing.js';
import { otelSdk, parentOf } from '../helpers/otel.js';
import { redisSkipReason, type RedisServer, useRedis } from '../helpers/redis-server.js';

const SENDER = new URL('../fixtures/otel-redis-sender.ts', import.meta.url).pathname;
const run = promisify(execFile);

let sdk: ReturnType<typeof otelSdk>;
let uninstrument: () => void;

beforeEach(() => {
  sdk = otelSdk();
  uninstrument = instrument({ tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider });
});

afterEach(async () => {
  uninstrument();
  await sdk.shutdown();
});

describe('instrument() - FileStorage', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('a message sent before a restart is processed after it in a span whose parent is the send span', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pocketmq-otel-'));
    dirs.push(dir);
    const clock = new TestClock(1_000_000);
    const before = new FileStorage({ dir, clock });
    const id = await new Queue<string>('jobs', { storage: before }).send('a');
    await before.close();

    const after = new FileStorage({ dir, clock });
    const queue = new Queue<string>('jobs', { storage: after });
    queue.consume(() => {});
    await clock.runAll();
    await queue.close();
    await after.close();

    const [send] = sdk.named('send jobs');
    const [process] = sdk.named('process jobs');
    expect(process!.attributes['messaging.message.id']).toBe(id);
    expect(process!.spanContext().traceId).toBe(send!.spanContext().traceId);
    expect(parentOf(process!)).toBe(send!.spanContext().spanId);
  });
});

describe.skipIf(redisSkipReason() !== undefined)('instrument() - two processes on Redis', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await useRedis();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('each process span is the child of the send span made in the other process', async () => {
    const prefix = server.prefix('otel');
    const env = { ...process.env, REDIS_URL: server.url, REDIS_PREFIX: prefix, REDIS_QUEUE: 'traced', REDIS_COUNT: '3' };
    const { stdout } = await run(process.execPath, ['--import', 'tsx', SENDER], { env });
    const sent = JSON.parse(stdout.trim()) as { name: string; id: string; traceId: string; spanId: string }[];
    expect(sent.map((s) => s.name)).toEqual(['send traced', 'send traced', 'send traced']);

    const storage = new RedisStorage({ url: server.url, prefix });
    const queue = new Queue<number>('traced', { storage });
    const handled: string[] = [];
    const done = new Promise<void>((resolve) => {
      queue.consume((msg) => {
        handled.push(msg.id);
        if (handled.length === sent.length) resolve();
      });
    });
    await done;
    await queue.close();
    await storage.close();

    const runs = sdk.named('process traced');
    expect(runs).toHaveLength(3);
    for (const span of runs) {
      const producer = sent.find((s) => s.id === span.attributes['messaging.message.id']);
      expect(producer).toBeDefined();
      expect(span.spanContext().traceId).toBe(producer!.traceId);
      expect(parentOf(span)).toBe(producer!.spanId);
      expect(span.parentSpanContext!.isRemote).toBe(true);
    }
  });
});
