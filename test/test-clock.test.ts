import { describe, expect, it } from 'vitest';
import { MemoryStorage, Queue } from '../src/index.js';
import { TestClock } from '../src/testing.js';

describe('TestClock', () => {
  it('.now() - starts at 0, or at the given start', () => {
    expect(new TestClock().now()).toBe(0);
    expect(new TestClock(1_700_000_000_000).now()).toBe(1_700_000_000_000);
  });

  it('.now() - does not move by itself', async () => {
    const clock = new TestClock(5);
    await new Promise((resolve) => setImmediate(resolve));
    expect(clock.now()).toBe(5);
  });

  it('.advance() - fires due timers in time order, each at its own time', async () => {
    const clock = new TestClock();
    const fired: [string, number][] = [];
    clock.setTimer(() => fired.push(['c', clock.now()]), 300);
    clock.setTimer(() => fired.push(['a', clock.now()]), 100);
    clock.setTimer(() => fired.push(['b', clock.now()]), 200);
    await clock.advance(1_000);
    expect(fired).toEqual([
      ['a', 100],
      ['b', 200],
      ['c', 300],
    ]);
    expect(clock.now()).toBe(1_000);
  });

  it('.advance() - timers due at the same time fire in the order they were set', async () => {
    const clock = new TestClock();
    const fired: number[] = [];
    for (const n of [1, 2, 3]) clock.setTimer(() => fired.push(n), 50);
    await clock.advance(50);
    expect(fired).toEqual([1, 2, 3]);
  });

  it('.advance() - leaves timers beyond the target for later', async () => {
    const clock = new TestClock();
    const fired: number[] = [];
    clock.setTimer(() => fired.push(clock.now()), 500);
    await clock.advance(499);
    expect(fired).toEqual([]);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(1);
    expect(fired).toEqual([500]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('.advance() - fires a timer set by another timer when it falls within the same advance', async () => {
    const clock = new TestClock();
    const fired: number[] = [];
    clock.setTimer(() => {
      fired.push(clock.now());
      clock.setTimer(() => fired.push(clock.now()), 100);
    }, 100);
    await clock.advance(250);
    expect(fired).toEqual([100, 200]);
  });

  it('.advance(0) - fires timers that are already due', async () => {
    const clock = new TestClock();
    let fired = false;
    clock.setTimer(() => {
      fired = true;
    }, 0);
    await clock.advance(0);
    expect(fired).toBe(true);
  });

  it('clearTimer() - a cleared timer never fires', async () => {
    const clock = new TestClock();
    let fired = false;
    const handle = clock.setTimer(() => {
      fired = true;
    }, 10);
    clock.clearTimer(handle);
    await clock.advance(100);
    expect(fired).toBe(false);
  });

  it('.set() - moves to an absolute time, firing what falls due on the way', async () => {
    const clock = new TestClock(1_000);
    const fired: number[] = [];
    clock.setTimer(() => fired.push(clock.now()), 500);
    await clock.set(2_000);
    expect(fired).toEqual([1_500]);
    expect(clock.now()).toBe(2_000);
  });

  it('.set() - to the current time is allowed and changes nothing', async () => {
    const clock = new TestClock(10);
    await clock.set(10);
    expect(clock.now()).toBe(10);
  });

  it('.advance() - waits for handlers to settle, however many awaits they take', async () => {
    const clock = new TestClock();
    const queue = new Queue<number>('work', { storage: new MemoryStorage({ clock }) });
    const done: number[] = [];
    queue.consume(
      async (msg) => {
        for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
        done.push(msg.body);
      },
      { concurrency: 2 },
    );
    await queue.sendBatch([{ body: 1 }, { body: 2 }, { body: 3 }]);
    await clock.advance(0);
    expect(done).toEqual([1, 2, 3]);
    expect(await queue.stats()).toMatchObject({ acked: 3, inflight: 0 });
  });

  it('.advance() - follows work that handlers start on other queues', async () => {
    const clock = new TestClock();
    const storage = new MemoryStorage({ clock });
    const first = new Queue<number>('first', { storage });
    const second = new Queue<number>('second', { storage });
    const seen: string[] = [];
    first.consume(async (msg) => {
      seen.push(`first ${msg.body}`);
      await second.send(msg.body * 10, { delay: 100 });
    });
    second.consume(async (msg) => void seen.push(`second ${msg.body}@${clock.now()}`));
    await first.send(1);
    await clock.advance(100);
    expect(seen).toEqual(['first 1', 'second 10@100']);
  });

  it('.advance() - lets each handler run at the time its message fell due', async () => {
    const clock = new TestClock();
    const queue = new Queue<string>('work', { storage: new MemoryStorage({ clock }) });
    const seen: [string, number][] = [];
    queue.consume(async (msg) => void seen.push([msg.body, clock.now()]));
    await queue.send('c', { delay: 300 });
    await queue.send('a', { delay: 100 });
    await queue.send('b', { delay: 200 });
    await clock.advance(10_000);
    expect(seen).toEqual([
      ['a', 100],
      ['b', 200],
      ['c', 300],
    ]);
  });

  it('.settle() - finishes pending handler work without moving time', async () => {
    const clock = new TestClock(42);
    const queue = new Queue<string>('work', { storage: new MemoryStorage({ clock }) });
    const seen: string[] = [];
    queue.consume(async (msg) => void seen.push(msg.body));
    await queue.send('x');
    await clock.settle();
    expect(seen).toEqual(['x']);
    expect(clock.now()).toBe(42);
  });

  it('TestClock - a storage built with it runs every queue timer on it', async () => {
    const clock = new TestClock();
    const queue = new Queue('work', { storage: new MemoryStorage({ clock }), visibilityTimeout: 60_000 });
    await queue.send('x', { delay: 1_000 });
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(1_000);
    await queue.receive();
    await clock.advance(60_000);
    expect(await queue.receive()).toMatchObject([{ attempt: 2 }]);
  });
});
