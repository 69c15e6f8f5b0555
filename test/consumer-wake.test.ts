import { describe, expect, it, vi } from 'vitest';
import { MemoryStorage, Queue } from '../src/index.js';
import { schedulerOf } from '../src/scheduler.js';
import { TestClock } from '../src/testing.js';

describe('Consumer wake-ups', () => {
  it('.consume() - a message sent while the consumer is settling into its wait is still delivered', async () => {
    const clock = new TestClock();
    const storage = new MemoryStorage({ clock });
    const queue = new Queue<number>('work', { storage });
    const scheduler = schedulerOf(storage);
    const onWake = scheduler.onWake.bind(scheduler);
    let armed = true;
    // Send right after the consumer registers its wait, before its claim round has ended:
    // the moment a handler on another queue replies in request/reply.
    vi.spyOn(scheduler, 'onWake').mockImplementation((name, wake) => {
      const cancel = onWake(name, wake);
      if (armed && name === 'work') {
        armed = false;
        queueMicrotask(() => void queue.send(1));
      }
      return cancel;
    });
    const handled: number[] = [];
    queue.consume((msg) => void handled.push(msg.body));
    await clock.settle();
    expect(armed).toBe(false);
    expect(handled).toEqual([1]);
  });
});
