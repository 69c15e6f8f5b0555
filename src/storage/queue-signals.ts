import { NameMap } from '../engine/name-map.js';
import type { StorageSignal } from './storage.js';

type QueueSignalType = 'ready' | 'drained';

/** Signals made once per queue name and type: a busy queue sends one on every send or empties often. */
const readySignals = new NameMap<StorageSignal>();
const drainedSignals = new NameMap<StorageSignal>();

/** Bounds the cache so a process that names queues without end does not keep every name. */
const MAX_CACHED = 10_000;

function queueSignal(signals: NameMap<StorageSignal>, type: QueueSignalType, queue: string): StorageSignal {
  const cached = signals.get(queue);
  if (cached) return cached;
  const signal: StorageSignal = type === 'ready' ? { type: 'ready', queue } : { type: 'drained', queue };
  if (signals.size < MAX_CACHED) signals.set(queue, signal);
  return signal;
}

/** The `ready` signal of a queue: it has messages a claim may take. */
export function readySignal(queue: string): StorageSignal {
  return queueSignal(readySignals, 'ready', queue);
}

/** The `drained` signal of a queue: it has nothing ready, delayed or in flight. */
export function drainedSignal(queue: string): StorageSignal {
  return queueSignal(drainedSignals, 'drained', queue);
}

/** Lets go of a forgotten queue's signals: the cache is shared, and a name used once should not fill it. */
export function dropQueueSignals(queue: string): void {
  readySignals.delete(queue);
  drainedSignals.delete(queue);
}
