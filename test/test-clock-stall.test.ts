import { mkdtempSync, rmSync } from 'node:fs';
import { appendFile, open } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryStorage, Queue } from '../src/index.js';
import { TestClock } from '../src/testing.js';

/** A promise the test resolves when it chooses: what a gated handler waits on. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** Collects the process warnings emitted while the test runs. */
function collectWarnings(): Error[] {
  const warnings: Error[] = [];
  const listener = (warning: Error) => warnings.push(warning);
  process.on('warning', listener);
  cleanups.push(() => process.off('warning', listener));
  return warnings;
}

describe('TestClock - never deadlocks on a handler that waits for the test', () => {
  it('.advance() - resolves while a handler awaits a gate the test opens later, and reports it', async () => {
    const warnings = collectWarnings();
    const clock = new TestClock(0, { quietMs: 20 });
    const queue = new Queue<string>('gated', { storage: new MemoryStorage({ clock }) });
    const { opened, open } = gate();
    let finished = false;
    queue.consume(async () => {
      await opened;
      finished = true;
    });
    const id = await queue.send('x');
    const report = await clock.advance(1_000);
    expect(finished).toBe(false);
    expect(report.stalled).toEqual([{ queue: 'gated', messageId: id, startedAt: 0, done: expect.any(Promise) }]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.map((w) => [w.name, (w as { code?: string }).code])).toEqual([['StalledHandlerWarning', 'ERR_HANDLER_STALLED']]);
    expect(warnings[0]!.message).toMatch(/message .* on queue "gated"/);

    open();
    await clock.settle();
    expect(finished).toBe(true);
    expect(await queue.stats()).toMatchObject({ acked: 1, inflight: 0 });
    expect((await clock.advance(0)).stalled).toEqual([]);
  });

  it('.advance() - keeps firing timers for other queues while a handler is stalled, and warns once', async () => {
    const warnings = collectWarnings();
    const clock = new TestClock(0, { quietMs: 20 });
    const storage = new MemoryStorage({ clock });
    const gated = new Queue<string>('gated', { storage });
    const delayed = new Queue<string>('delayed', { storage });
    const { opened, open } = gate();
    gated.consume(() => opened);
    const seen: number[] = [];
    delayed.consume(async () => void seen.push(clock.now()));
    await gated.send('x');
    await delayed.send('a', { delay: 5_000 });
    await delayed.send('b', { delay: 90_000 });
    await clock.advance(100_000);
    expect(seen).toEqual([5_000, 90_000]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings).toHaveLength(1);
    open();
    await clock.settle();
    expect(await gated.stats()).toMatchObject({ acked: 1, retried: 0 });
  });

  it('TestClockOptions.warnStalled: false - reports without a warning', async () => {
    const warnings = collectWarnings();
    const clock = new TestClock(0, { quietMs: 5, warnStalled: false });
    const queue = new Queue<string>('gated', { storage: new MemoryStorage({ clock }) });
    const { opened, open } = gate();
    queue.consume(() => opened);
    await queue.send('x');
    expect((await clock.advance(0)).stalled).toHaveLength(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings).toEqual([]);
    open();
    await clock.settle();
  });

  it('new TestClock() - rejects bad options by name', () => {
    expect(() => new TestClock(0, { quietMs: -1 })).toThrow(/`options.quietMs`/);
    expect(() => new TestClock(0, { warnStalled: 'no' as never })).toThrow(/`options.warnStalled` to be a boolean/);
    expect(() => new TestClock(0, { quiet: 5 } as never)).toThrow(/quiet/);
  });
});

describe('TestClock - waits for handlers doing real I/O', () => {
  it('.advance() - waits for a handler writing and syncing a file, far longer than quietMs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pocketmq-io-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const clock = new TestClock(0, { quietMs: 1 });
    const storage = new MemoryStorage({ clock });
    const exports = new Queue<number>('exports', { storage });
    const written: number[] = [];
    exports.consume(async (msg) => {
      // No storage call and no clock use in between: only the I/O shows that it progresses.
      const file = await open(join(dir, `export-${msg.body}.txt`), 'w');
      for (let i = 0; i < 50; i++) {
        await file.write(`line ${i}\n`);
        await file.sync();
      }
      await file.close();
      await appendFile(join(dir, 'done.txt'), `${msg.body}\n`);
      written.push(msg.body);
    });
    await exports.sendBatch([{ body: 1 }, { body: 2 }]);
    const report = await clock.advance(0);
    expect(report.stalled).toEqual([]);
    expect(written).toEqual([1, 2]);
    expect(await exports.stats()).toMatchObject({ acked: 2, inflight: 0 });
  });

  it('.advance() - waits for a handler that fetches from a local HTTP server', async () => {
    const server: Server = createServer((_req, res) => {
      // The server takes a few ms of real time: the handler shows no progress meanwhile.
      setTimeout(() => res.end(JSON.stringify({ price: 42 })), 10);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => server.close());
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/price`;
    const clock = new TestClock();
    const storage = new MemoryStorage({ clock });
    const quotes = new Queue<string>('quotes', { storage });
    const priced = new Queue<number>('priced', { storage });
    quotes.consume(async () => {
      const { price } = (await (await fetch(url)).json()) as { price: number };
      await priced.send(price);
    });
    await quotes.send('tea');
    const report = await clock.advance(0);
    expect(report.stalled).toEqual([]);
    expect((await priced.peek()).map((m) => m.body)).toEqual([42]);
    expect(await quotes.stats()).toMatchObject({ acked: 1 });
  });
});

describe('TestClock - under the test runner\'s fake timers', () => {
  it('.advance() - still settles handlers with vi.useFakeTimers() installed', async () => {
    vi.useFakeTimers();
    cleanups.push(() => vi.useRealTimers());
    const clock = new TestClock();
    const queue = new Queue<string>('jobs', { storage: new MemoryStorage({ clock }) });
    const seen: string[] = [];
    queue.consume(async (msg) => void seen.push(msg.body));
    await queue.send('a', { delay: 1_000 });
    await clock.advance(1_000);
    expect(seen).toEqual(['a']);
  });
});
