import { describe, expect, it } from 'vitest';
import { ClosedError, MemoryStorage, Queue, type Message } from '../src/index.js';
import { TestClock } from '../src/testing.js';

function setup<T = unknown>() {
  const clock = new TestClock();
  const storage = new MemoryStorage({ clock });
  const queue = new Queue<T>('inbox', { storage });
  return { clock, storage, queue };
}

/** Follows a promise without awaiting it, so a test can check whether it has settled yet. */
function track<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

describe('.receive()', () => {
  it('.receive() - returns one message by default', async () => {
    const { queue } = setup<number>();
    await queue.sendBatch([{ body: 1 }, { body: 2 }]);
    const received = await queue.receive();
    expect(received.map((m) => m.body)).toEqual([1]);
  });

  it('.receive({ max }) - returns up to max messages in delivery order', async () => {
    const { queue } = setup<number>();
    await queue.sendBatch([{ body: 1 }, { body: 2 }, { body: 3 }]);
    expect((await queue.receive({ max: 2 })).map((m) => m.body)).toEqual([1, 2]);
    expect((await queue.receive({ max: 10 })).map((m) => m.body)).toEqual([3]);
  });

  it('.receive({ wait: 0 }) - answers at once with [] when nothing is ready', async () => {
    const { queue, clock } = setup();
    await expect(queue.receive({ wait: 0 })).resolves.toEqual([]);
    expect(clock.now()).toBe(0);
  });

  it('.receive({ wait }) - resolves as soon as a message is sent', async () => {
    const { queue, clock } = setup<string>();
    const waiting = track(queue.receive({ wait: 10_000 }));
    await clock.advance(3_000);
    expect(waiting.settled).toBe(false);
    await queue.send('arrived');
    await clock.settle();
    expect(waiting.settled).toBe(true);
    expect((waiting.value as Message<string>[]).map((m) => m.body)).toEqual(['arrived']);
    expect(clock.now()).toBe(3_000);
  });

  it('.receive({ wait }) - resolves with [] after wait ms', async () => {
    const { queue, clock } = setup();
    const waiting = track(queue.receive({ wait: 1_000 }));
    await clock.advance(999);
    expect(waiting.settled).toBe(false);
    await clock.advance(1);
    expect(waiting).toEqual({ settled: true, value: [] });
  });

  it('.receive({ wait }) - resolves when a delayed message falls due within the wait', async () => {
    const { queue, clock } = setup<string>();
    await queue.send('delayed', { delay: 400 });
    const waiting = track(queue.receive({ wait: 1_000 }));
    await clock.advance(399);
    expect(waiting.settled).toBe(false);
    await clock.advance(1);
    expect((waiting.value as Message<string>[]).map((m) => m.body)).toEqual(['delayed']);
  });

  it('.receive({ wait: Infinity }) - waits as long as it takes', async () => {
    const { queue, clock } = setup<string>();
    const waiting = track(queue.receive({ wait: Infinity }));
    await clock.advance(1_000_000_000);
    expect(waiting.settled).toBe(false);
    await queue.send('finally');
    await clock.settle();
    expect((waiting.value as Message<string>[]).map((m) => m.body)).toEqual(['finally']);
  });

  it('.receive({ wait }) - one message wakes one of two waiting receivers; the other keeps waiting', async () => {
    const { queue, clock } = setup<string>();
    const a = track(queue.receive({ wait: 5_000 }));
    const b = track(queue.receive({ wait: 5_000 }));
    await queue.send('only');
    await clock.settle();
    const got = [a, b].filter((r) => r.settled).map((r) => (r.value as Message<string>[]).map((m) => m.body));
    expect(got).toEqual([['only']]);
    await clock.advance(5_000);
    expect([a.value, b.value].filter((v) => Array.isArray(v) && v.length === 0)).toHaveLength(1);
  });

  it('.receive({ signal }) - aborting rejects a waiting receive with the signal reason', async () => {
    const { queue, clock } = setup();
    const controller = new AbortController();
    const reason = new Error('user cancelled');
    const waiting = queue.receive({ wait: 60_000, signal: controller.signal });
    await clock.advance(10);
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
  });

  it('.receive({ signal }) - an abort that comes while the first claim is pending still rejects', async () => {
    const { queue } = setup();
    const controller = new AbortController();
    const reason = new Error('stop now');
    const waiting = queue.receive({ wait: 60_000, signal: controller.signal });
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
  });

  it('.receive({ signal }) - an already aborted signal rejects with its reason and leases nothing', async () => {
    const { queue } = setup();
    await queue.send('x');
    const reason = new Error('too late');
    await expect(queue.receive({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(await queue.stats()).toMatchObject({ ready: 1, inflight: 0 });
  });

  it('.receive({ signal }) - a signal aborted after the receive resolved changes nothing', async () => {
    const { queue } = setup<string>();
    const controller = new AbortController();
    await queue.send('x');
    const [msg] = await queue.receive({ wait: 1_000, signal: controller.signal });
    controller.abort();
    expect(await msg!.ack()).toBe(true);
  });
});

describe('for await', () => {
  it('for await - yields messages one at a time as they come', async () => {
    const { queue, clock } = setup<number>();
    await queue.sendBatch([{ body: 1 }, { body: 2 }]);
    const seen: number[] = [];
    const loop = (async () => {
      for await (const msg of queue) {
        seen.push(msg.body);
        await msg.ack();
        if (seen.length === 3) break;
      }
    })();
    await clock.settle();
    expect(seen).toEqual([1, 2]);
    await queue.send(3);
    await loop;
    expect(seen).toEqual([1, 2, 3]);
    expect(await queue.stats()).toMatchObject({ acked: 3, ready: 0, inflight: 0 });
  });

  it('for await - ends when the queue is closed', async () => {
    const { queue, clock } = setup<number>();
    const seen: number[] = [];
    const loop = (async () => {
      for await (const msg of queue) {
        seen.push(msg.body);
        await msg.ack();
      }
      return 'ended';
    })();
    await queue.send(1);
    await clock.settle();
    await queue.close();
    await expect(loop).resolves.toBe('ended');
    expect(seen).toEqual([1]);
  });

  it('for await - a message left unsettled is redelivered after its visibility timeout', async () => {
    const clock = new TestClock();
    const queue = new Queue<string>('inbox', { storage: new MemoryStorage({ clock }), visibilityTimeout: 100 });
    await queue.send('x');
    const attempts: number[] = [];
    const loop = (async () => {
      for await (const msg of queue) {
        attempts.push(msg.attempt);
        if (msg.attempt === 2) {
          await msg.ack();
          break;
        }
      }
    })();
    await clock.advance(100);
    await loop;
    expect(attempts).toEqual([1, 2]);
  });
});

describe('.receive() after close', () => {
  it('.receive() - rejects with ClosedError once the queue is closed', async () => {
    const { queue } = setup();
    await queue.close();
    await expect(queue.receive({ wait: 1_000 })).rejects.toBeInstanceOf(ClosedError);
  });
});
