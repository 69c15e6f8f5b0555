/**
 * What a redrive decides about one message, shared by the engine and RedisStorage so
 * that every storage moves the same messages to the same queues with the same headers.
 */
import type { DeadLetterHeaderNames, StoredMessage } from './types.js';

/**
 * Where a redrive of `queue` sends `message`: `to` when given, else the queue its
 * `x-original-queue` header names, if `isQueueName` accepts it and it is not `queue`
 * itself; `undefined` when the message stays.
 */
export function redriveTarget(
  message: StoredMessage,
  queue: string,
  to: string | undefined,
  names: DeadLetterHeaderNames,
  isQueueName: (name: string) => boolean,
): string | undefined {
  const target = to ?? message.headers?.[names.queue];
  return target === undefined || target === queue || !isQueueName(target) ? undefined : target;
}

/** A redriven message's headers: its own without the dead-letter story, with one more redrive counted. */
export function redrivenHeaders(headers: Readonly<Record<string, string>> | undefined, names: DeadLetterHeaderNames): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers !== undefined) {
    for (const key of Object.keys(headers)) {
      if (key === names.reason || key === names.error || key === names.queue || key === names.attempts || key === names.at) continue;
      // defineProperty: a header may be named `__proto__`.
      Object.defineProperty(out, key, { value: headers[key], enumerable: true, writable: true, configurable: true });
    }
  }
  const previous = Number(headers?.[names.redriveCount]);
  out[names.redriveCount] = String(Number.isSafeInteger(previous) && previous > 0 ? previous + 1 : 1);
  return out;
}
