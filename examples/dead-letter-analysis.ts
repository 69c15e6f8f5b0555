/**
 * Dead-letter analysis: payments that fail every attempt land in the dead-letter
 * queue with the reason and last error in their headers. Once the payment
 * gateway is back, an analyst pass looks at the dead letters without taking them
 * (`peek`), records and removes those a retry cannot fix (`remove`), and redrives
 * the rest back to the queue they came from (`redrive`), each from attempt 1.
 *
 * Run it: npx tsx examples/dead-letter-analysis.ts
 */
import { DEAD_LETTER_HEADERS, MemoryStorage, Queue } from '../src/index.js';
import { type ExampleOptions, isMain } from './run-main.js';

interface Payment {
  id: string;
  amount: number;
}

interface Failure {
  id: string;
  reason: string;
  error: string;
  attempts: number;
}

export interface DeadLetterResult {
  /** Payments processed, in order (redriven ones last). */
  processed: string[];
  /** How many dead letters went back to the main queue. */
  redriven: number;
  /** Dead letters kept for a person to look at. */
  recorded: Failure[];
  /** Messages left in the dead-letter queue at the end. */
  leftInDeadLetterQueue: number;
}

class GatewayTimeoutError extends Error {
  override name = 'GatewayTimeoutError';
}

/** A failure worth another try once conditions change: it ran out of attempts on a timeout. */
function isRetryable(reason: string, error: string): boolean {
  return reason === 'max-attempts' && error.includes('timed out');
}

export async function main({ storage = new MemoryStorage(), log = () => {} }: ExampleOptions = {}): Promise<DeadLetterResult> {
  const result: DeadLetterResult = { processed: [], redriven: 0, recorded: [], leftInDeadLetterQueue: 0 };
  const payments = new Queue<Payment>('main-processing-queue', {
    storage,
    deadLetter: 'main-processing-dlq',
    maxAttempts: 3,
    backoff: { initial: 100, factor: 2, jitter: 'none' },
  });
  const dlq = new Queue<Payment>('main-processing-dlq', { storage });
  payments.on('dead', (msg, reason) => log(`dead-lettered ${msg.body.id} (${reason})`));

  let gatewayUp = false;
  const worker = payments.consume(async (msg) => {
    const { body } = msg;
    // Retrying cannot fix a bad amount: dead-letter it at once, with the reason.
    if (body.amount <= 0) {
      await msg.deadLetter('invalid-amount');
      return;
    }
    if (body.amount > 100 && !gatewayUp) throw new GatewayTimeoutError('gateway timed out');
    result.processed.push(body.id);
    log(`processed ${body.id}`);
  });

  await payments.sendBatch(
    [
      { id: 'p-1', amount: 20 },
      { id: 'p-2', amount: 250 },
      { id: 'p-3', amount: -5 },
      { id: 'p-4', amount: 40 },
      { id: 'p-5', amount: 500 },
    ].map((body) => ({ body })),
  );
  await payments.idle();

  gatewayUp = true;
  log('gateway is back; analysing the dead-letter queue');
  for (const msg of await dlq.peek({ max: 100 })) {
    const reason = msg.headers[DEAD_LETTER_HEADERS.reason] ?? 'unknown';
    const error = msg.headers[DEAD_LETTER_HEADERS.error] ?? '';
    if (isRetryable(reason, error)) continue;
    const failure = { id: msg.body.id, reason, error, attempts: Number(msg.headers[DEAD_LETTER_HEADERS.attempts]) };
    result.recorded.push(failure);
    log(`recorded ${failure.id} for investigation: ${failure.reason}`);
    await dlq.remove(msg.id);
  }
  // Every dead letter left goes back to its `x-original-queue`, in order, as a new message.
  result.redriven = await dlq.redrive();
  log(`redrove ${result.redriven} payments`);

  await payments.idle();
  await worker.stop();
  result.leftInDeadLetterQueue = (await dlq.stats()).ready;
  return result;
}

if (isMain(import.meta.url)) {
  const result = await main({ log: console.log });
  console.log(JSON.stringify(result, null, 2));
}
