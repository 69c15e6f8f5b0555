/**
 * A monitoring view of a queue: published, consumed, wait and processing time,
 * error rate, depth and throughput, computed from the queue's events and
 * `stats()`, with time read from the storage's clock (so a TestClock gives
 * exact figures).
 *
 * Run it: npx tsx examples/monitoring.ts
 */
import { type Clock, MemoryStorage, Queue } from '../src/index.js';
import { type ExampleOptions, isMain } from './run-main.js';

export interface HealthMetrics {
  /** Messages stored by `send()`. */
  published: number;
  /** Messages processed successfully (acked). */
  consumed: number;
  /** Deliveries that failed (retried or dead-lettered). */
  errors: number;
  /** errors / deliveries. */
  errorRate: number;
  /** Mean ms from `send()` to each delivery. */
  averageWaitTime: number;
  /** Mean ms from delivery to ack or failure. */
  averageProcessingTime: number;
  /** Messages ready, delayed or in flight now. */
  depth: number;
  /** Consumed per minute, between the first send and the last ack. */
  throughputPerMinute: number;
}

/** Watches one queue through its events; `metrics()` adds the live depth from `stats()`. */
export class QueueMonitor<T> {
  readonly #queue: Queue<T>;
  readonly #clock: Clock;
  #published = 0;
  #consumed = 0;
  #errors = 0;
  #deliveries = 0;
  #waitTotal = 0;
  #processingTotal = 0;
  #processed = 0;
  #firstSentAt: number | undefined;
  #lastAckedAt: number | undefined;
  /** Delivery time per message id, while it is being processed. */
  readonly #deliveredAt = new Map<string, number>();

  constructor(queue: Queue<T>) {
    this.#queue = queue;
    this.#clock = queue.storage.clock;
    queue.on('sent', () => {
      this.#published++;
      this.#firstSentAt ??= this.#clock.now();
    });
    queue.on('delivered', (msg) => {
      const now = this.#clock.now();
      this.#deliveries++;
      this.#waitTotal += now - msg.enqueuedAt;
      this.#deliveredAt.set(msg.id, now);
    });
    queue.on('acked', (msg) => {
      this.#consumed++;
      this.#lastAckedAt = this.#clock.now();
      this.#settled(msg.id);
    });
    queue.on('retry', (msg) => {
      this.#errors++;
      this.#settled(msg.id);
    });
    queue.on('dead', (msg) => {
      this.#errors++;
      this.#settled(msg.id);
    });
  }

  #settled(id: string): void {
    const deliveredAt = this.#deliveredAt.get(id);
    if (deliveredAt === undefined) return;
    this.#deliveredAt.delete(id);
    this.#processingTotal += this.#clock.now() - deliveredAt;
    this.#processed++;
  }

  async metrics(): Promise<HealthMetrics> {
    const stats = await this.#queue.stats();
    const window = this.#firstSentAt === undefined || this.#lastAckedAt === undefined ? 0 : this.#lastAckedAt - this.#firstSentAt;
    return {
      published: this.#published,
      consumed: this.#consumed,
      errors: this.#errors,
      errorRate: this.#deliveries === 0 ? 0 : this.#errors / this.#deliveries,
      averageWaitTime: this.#deliveries === 0 ? 0 : this.#waitTotal / this.#deliveries,
      averageProcessingTime: this.#processed === 0 ? 0 : this.#processingTotal / this.#processed,
      depth: stats.ready + stats.delayed + stats.inflight,
      throughputPerMinute: window === 0 ? 0 : (this.#consumed * 60_000) / window,
    };
  }
}

export interface MonitoringResult {
  /** Right after the messages were sent (all still delayed). */
  afterSending: HealthMetrics;
  /** Once the queue is idle. */
  atEnd: HealthMetrics;
}

export async function main({ storage = new MemoryStorage(), log = () => {} }: ExampleOptions = {}): Promise<MonitoringResult> {
  const queue = new Queue<{ n: number }>('monitored', { storage, maxAttempts: 3, backoff: { initial: 50, jitter: 'none' } });
  const monitor = new QueueMonitor(queue);
  const failedOnce = new Set<number>();
  const worker = queue.consume(async ({ body }) => {
    // Every fourth message fails on its first try.
    if (body.n % 4 === 0 && !failedOnce.has(body.n)) {
      failedOnce.add(body.n);
      throw new Error(`message ${body.n} hit a transient error`);
    }
  });

  // Twelve messages, one every 100 ms.
  await queue.sendBatch(Array.from({ length: 12 }, (_, i) => ({ body: { n: i + 1 }, options: { delay: (i + 1) * 100 } })));
  const afterSending = await monitor.metrics();
  log(`after sending: ${JSON.stringify(afterSending)}`);

  await queue.idle();
  await worker.stop();
  const atEnd = await monitor.metrics();
  log(`at the end:    ${JSON.stringify(atEnd)}`);
  return { afterSending, atEnd };
}

if (isMain(import.meta.url)) {
  await main({ log: console.log });
}
