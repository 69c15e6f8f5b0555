/**
 * The scheduler's one timer on the system clock keeps a process alive only while
 * someone awaits a result that depends on it. Each case runs a small script in a
 * child process and checks how it ends: an exit that should happen either happens
 * or the test times out; no case measures time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MemoryStorage, Queue } from '../src/index.js';
import { TestClock } from '../src/testing.js';

const ROOT = resolve(import.meta.dirname, '..');
const INDEX = pathToFileURL(join(ROOT, 'src/index.ts')).href;
const dir = mkdtempSync(join(tmpdir(), 'pocketmq-scheduler-'));
const children = new Set<ChildProcess>();
const CHILD_TIMEOUT = 60_000;

/** Runs `body` (top-level-await TypeScript with `Queue` and `MemoryStorage` in scope) in a child process. */
function runChild(name: string, body: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = join(dir, `${name}.mts`);
  writeFileSync(file, `import { Queue, MemoryStorage } from ${JSON.stringify(INDEX)};\n${body}\n`);
  return new Promise((done, fail) => {
    // cwd is the repository so that `--import tsx` resolves from its node_modules.
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => {
      children.delete(child);
      done({ code, stdout, stderr });
    });
  });
}

afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('scheduler keep-alive (system clock)', () => {
  it(
    'scheduler - a delayed message alone does not keep the process alive',
    async () => {
      const result = await runChild(
        'delayed-alone',
        `const q = new Queue('a', { storage: new MemoryStorage() });
await q.send('x', { delay: 3_600_000 });
console.log('end');`,
      );
      expect(result).toMatchObject({ code: 0, stdout: 'end\n' });
    },
    CHILD_TIMEOUT,
  );

  it(
    'scheduler - a consumer waiting for a delayed message does not keep the process alive',
    async () => {
      const result = await runChild(
        'consumer-waiting',
        `const q = new Queue('a', { storage: new MemoryStorage() });
q.consume(async () => { console.log('handled'); });
await q.send('x', { delay: 3_600_000 });
console.log('end');`,
      );
      expect(result).toMatchObject({ code: 0, stdout: 'end\n' });
    },
    CHILD_TIMEOUT,
  );

  it(
    'scheduler - a message left in flight does not keep the process alive for its lease',
    async () => {
      const result = await runChild(
        'lease-pending',
        `const q = new Queue('a', { storage: new MemoryStorage(), visibilityTimeout: 3_600_000 });
await q.send('x');
const [m] = await q.receive();
console.log(m.body);`,
      );
      expect(result).toMatchObject({ code: 0, stdout: 'x\n' });
    },
    CHILD_TIMEOUT,
  );

  it(
    'scheduler - an awaited idle() keeps the process alive until the delayed message is handled',
    async () => {
      const result = await runChild(
        'idle-awaited',
        `const q = new Queue('a', { storage: new MemoryStorage() });
q.consume(async (m) => { console.log('handled', m.body); });
await q.send('x', { delay: 300 });
await q.idle();
console.log('idle');`,
      );
      expect(result).toMatchObject({ code: 0, stdout: 'handled x\nidle\n' });
    },
    CHILD_TIMEOUT,
  );

  it(
    'scheduler - closing the storage ends a pending idle() with ClosedError and lets the process exit',
    async () => {
      const result = await runChild(
        'idle-closed',
        `const storage = new MemoryStorage();
const q = new Queue('a', { storage });
await q.send('x', { delay: 60_000 });
const waiting = q.idle().catch((error) => console.log('idle', error.code));
await storage.close();
await waiting;`,
      );
      expect(result).toMatchObject({ code: 0, stdout: 'idle ERR_CLOSED\n' });
    },
    CHILD_TIMEOUT,
  );

  it(
    'scheduler - an awaited idle() keeps the process alive through a retry backoff',
    async () => {
      const result = await runChild(
        'idle-retry',
        `const q = new Queue('a', { storage: new MemoryStorage(), backoff: { initial: 300, jitter: 'none' } });
q.consume(async (m) => { console.log('attempt', m.attempt); if (m.attempt === 1) throw new Error('again'); });
await q.send('x');
await q.idle();
console.log('idle');`,
      );
      expect(result).toMatchObject({ code: 0, stdout: 'attempt 1\nattempt 2\nidle\n' });
    },
    CHILD_TIMEOUT,
  );

  it(
    'scheduler - an awaited receive({ wait }) keeps the process alive until a delayed message arrives, then lets it go',
    async () => {
      const result = await runChild(
        'receive-delayed',
        `const q = new Queue('a', { storage: new MemoryStorage(), visibilityTimeout: 3_600_000 });
await q.send('late', { delay: 300 });
const [m] = await q.receive({ wait: 3_600_000 });
console.log(m.body);`,
      );
      expect(result).toMatchObject({ code: 0, stdout: 'late\n' });
    },
    CHILD_TIMEOUT,
  );

  it(
    'scheduler - an awaited receive({ wait }) keeps the process alive until the wait ends with []',
    async () => {
      const result = await runChild(
        'receive-empty',
        `const q = new Queue('a', { storage: new MemoryStorage() });
console.log(JSON.stringify(await q.receive({ wait: 300 })));`,
      );
      expect(result).toMatchObject({ code: 0, stdout: '[]\n' });
    },
    CHILD_TIMEOUT,
  );

  it(
    'scheduler - a delay beyond the 24.8-day timer limit does not overflow the timer',
    async () => {
      const result = await runChild(
        'long-delay',
        `let overflows = 0;
process.on('warning', (w) => { if (w.name === 'TimeoutOverflowWarning') overflows++; });
const q = new Queue('a', { storage: new MemoryStorage() });
await q.send('x', { delay: 30 * 24 * 3_600_000 });
await q.receive({ wait: 100 });
await new Promise((r) => setImmediate(r));
console.log('overflows', overflows);`,
      );
      expect(result).toMatchObject({ code: 0, stdout: 'overflows 0\n' });
    },
    CHILD_TIMEOUT,
  );
});

describe('scheduler (TestClock)', () => {
  it('scheduler - one timer per storage, however many messages are delayed', async () => {
    const clock = new TestClock();
    const storage = new MemoryStorage({ clock });
    const a = new Queue('a', { storage });
    const b = new Queue('b', { storage });
    for (let i = 1; i <= 50; i++) {
      await a.send(i, { delay: i * 10 });
      await b.send(i, { delay: i * 7 });
    }
    expect(clock.pendingTimers).toBe(1);
  });

  it('scheduler - delayed messages on several queues of one storage each fall due at their own time', async () => {
    const clock = new TestClock();
    const storage = new MemoryStorage({ clock });
    const seen: string[] = [];
    for (const name of ['a', 'b']) {
      const queue = new Queue<number>(name, { storage });
      queue.consume(async (msg) => void seen.push(`${name}${msg.body}@${clock.now()}`));
    }
    const a = new Queue<number>('a', { storage });
    const b = new Queue<number>('b', { storage });
    await a.send(1, { delay: 300 });
    await b.send(1, { delay: 100 });
    await a.send(2, { delay: 200 });
    await clock.advance(1_000);
    expect(seen).toEqual(['b1@100', 'a2@200', 'a1@300']);
  });

  it('scheduler - a closed storage stops its timer instead of firing it again and again', async () => {
    const clock = new TestClock();
    const storage = new MemoryStorage({ clock });
    const queue = new Queue('a', { storage });
    const errors: Error[] = [];
    queue.on('error', (error) => errors.push(error));
    await queue.send('x', { delay: 100 });
    await storage.close();
    await clock.advance(1_000);
    expect(errors).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  }, 10_000);

  it('scheduler - closing the storage drops its timer and ends waiting receive() and idle() calls', async () => {
    const clock = new TestClock();
    const storage = new MemoryStorage({ clock });
    const queue = new Queue('a', { storage });
    await queue.send('x', { delay: 5_000 });
    const idle = queue.idle();
    const receive = queue.receive({ wait: 10_000 });
    await clock.settle();
    await storage.close();
    await expect(idle).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(receive).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    expect(clock.pendingTimers).toBe(0);
  });

  it('scheduler - a consumer whose storage is closed stops instead of retrying', async () => {
    const clock = new TestClock();
    const storage = new MemoryStorage({ clock });
    const queue = new Queue('a', { storage });
    const errors: Error[] = [];
    queue.on('error', (error) => errors.push(error));
    const consumer = queue.consume(async () => {});
    await clock.settle();
    await storage.close();
    await consumer.stop();
    await clock.advance(1_000);
    expect(errors).toEqual([]);
    expect(consumer.active).toBe(0);
  });

  it('scheduler - a failed tick is reported and tried again a second later', async () => {
    class FlakyTickStorage extends MemoryStorage {
      failures = 1;
      override tick(now: number): Promise<void> {
        if (this.failures-- > 0) return Promise.reject(new Error('disk hiccup'));
        return super.tick(now);
      }
    }
    const clock = new TestClock();
    const queue = new Queue<string>('a', { storage: new FlakyTickStorage({ clock }) });
    const errors: string[] = [];
    queue.on('error', (error) => errors.push(error.message));
    const seen: [string, number][] = [];
    queue.consume(async (msg) => void seen.push([msg.body, clock.now()]));
    await queue.send('x', { delay: 100 });
    await clock.advance(100);
    expect(errors).toEqual(['disk hiccup']);
    expect(seen).toEqual([]);
    await clock.advance(1_000);
    expect(seen).toEqual([['x', 1_100]]);
  }, 10_000);
});
