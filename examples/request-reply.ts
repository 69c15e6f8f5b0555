/**
 * Request/reply: a pricing service answers quotes over a request queue; callers
 * await the reply like a function call, with a timeout. An unknown SKU comes
 * back as a RemoteError, and a call nobody answers in time as a TimeoutError.
 *
 * Run it: npx tsx examples/request-reply.ts
 */
import { MemoryStorage, RemoteError, RequestReply, TimeoutError } from '../src/index.js';
import { type ExampleOptions, isMain } from './run-main.js';

interface PriceRequest {
  sku: string;
  quantity: number;
}

interface Price {
  sku: string;
  total: number;
}

const CATALOG: Record<string, number> = { mug: 12, tea: 4.5, pot: 30 };

export interface RequestReplyResult {
  quotes: Price[];
  /** The RemoteError's message and the remote error's name. */
  remoteError: { message: string; remoteName: string } | undefined;
  /** True when the call to the stopped service timed out. */
  timedOut: boolean;
}

export async function main({ storage = new MemoryStorage(), log = () => {} }: ExampleOptions = {}): Promise<RequestReplyResult> {
  const result: RequestReplyResult = { quotes: [], remoteError: undefined, timedOut: false };
  // maxAttempts 1: a quote that fails is answered with the error at once instead of retried.
  const pricing = new RequestReply<PriceRequest, Price>('pricing', { storage, maxAttempts: 1, timeout: 5_000 });

  const service = pricing.serve(
    (req) => {
      const unit = CATALOG[req.sku];
      if (unit === undefined) throw new RangeError(`unknown sku "${req.sku}"`);
      return { sku: req.sku, total: unit * req.quantity };
    },
    { concurrency: 4 },
  );

  // Concurrent calls; each gets its own reply.
  result.quotes = await Promise.all([
    pricing.request({ sku: 'mug', quantity: 2 }),
    pricing.request({ sku: 'tea', quantity: 10 }),
    pricing.request({ sku: 'pot', quantity: 1 }),
  ]);
  for (const quote of result.quotes) log(`quote: ${quote.sku} ${quote.total}`);

  try {
    await pricing.request({ sku: 'lamp', quantity: 1 });
  } catch (error) {
    if (!(error instanceof RemoteError)) throw error;
    result.remoteError = { message: error.message, remoteName: error.remoteName };
    log(`remote error: ${error.remoteName}: ${error.message}`);
  }

  await service.stop();
  try {
    await pricing.request({ sku: 'mug', quantity: 1 }, { timeout: 1_000 });
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    result.timedOut = true;
    log(`no reply within ${error.timeout} ms`);
  }

  await pricing.close();
  return result;
}

if (isMain(import.meta.url)) {
  await main({ log: console.log });
}
