/**
 * What the commands work on: the queues of one place (a storage opened here, or a running
 * app's dashboard API). Each command talks to an Inspector and never to the storage itself,
 * so every command works the same on `--file`, `--redis` and `--url`.
 */
import type { MessageState } from '../storage/storage.js';
import type { PeekedMessage } from '../message.js';
import type { QueueSummary } from '../dashboard/api.js';
import type { QueueStats } from '../engine/types.js';

export interface Inspector {
  /** The queues that hold messages or counters, sorted by name. */
  queues(): Promise<QueueSummary[]>;
  stats(queue: string): Promise<QueueStats>;
  peek(queue: string, state: MessageState, max: number): Promise<PeekedMessage<unknown>[]>;
  /** Moves up to `max` (all when unset) dead letters back; resolves with the count moved. */
  redrive(queue: string, options: { max?: number; to?: string }): Promise<number>;
  /** Removes every waiting message; resolves with the count removed. */
  purge(queue: string): Promise<number>;
  close(): Promise<void>;
}
