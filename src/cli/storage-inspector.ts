/** An {@link Inspector} on a storage this process opened (`--file`, `--redis`), through queue handles. */
import type { QueueStats } from '../engine/types.js';
import { UnsupportedError } from '../errors.js';
import type { PeekedMessage } from '../message.js';
import { Queue } from '../queue.js';
import type { MessageState, Storage } from '../storage/storage.js';
import type { QueueSummary } from '../dashboard/api.js';
import type { Inspector } from './inspector.js';

export class StorageInspector implements Inspector {
  readonly #storage: Storage;
  /** Turns an error of a change into the one the user should see (a held directory's explanation). */
  readonly #explainChange: (operation: string, error: unknown) => unknown;

  constructor(storage: Storage, explainChange: (operation: string, error: unknown) => unknown = (_operation, error) => error) {
    this.#storage = storage;
    this.#explainChange = explainChange;
  }

  #queue(name: string): Queue<unknown> {
    return new Queue(name, { storage: this.#storage });
  }

  async queues(): Promise<QueueSummary[]> {
    const storage = this.#storage;
    if (storage.queues === undefined) throw new UnsupportedError('queues', 'This storage cannot list its queues (it has no queues())');
    const names = await storage.queues(storage.clock.now());
    return Promise.all(names.map(async (name) => ({ name, stats: await this.stats(name) })));
  }

  stats(queue: string): Promise<QueueStats> {
    return this.#queue(queue).stats();
  }

  peek(queue: string, state: MessageState, max: number): Promise<PeekedMessage<unknown>[]> {
    return this.#queue(queue).peek({ state, max });
  }

  redrive(queue: string, options: { max?: number; to?: string }): Promise<number> {
    return this.#queue(queue)
      .redrive(options)
      .catch((error: unknown) => {
        throw this.#explainChange('redrive', error);
      });
  }

  purge(queue: string): Promise<number> {
    return this.#queue(queue)
      .purge()
      .catch((error: unknown) => {
        throw this.#explainChange('purge', error);
      });
  }

  close(): Promise<void> {
    return this.#storage.close();
  }
}
