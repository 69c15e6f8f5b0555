/**
 * Runs every example's `main()` on a TestClock, so the examples cannot rot:
 * time moves only when the test advances it, and outcomes are exact.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../src/index.js';
import { TestClock } from '../src/testing.js';
import { main as dashboardApp } from './dashboard.js';
import { main as deadLetterAnalysis } from './dead-letter-analysis.js';
import { main as encryption } from './encryption.js';
import { main as imageProcessing } from './image-processing.js';
import { main as logPipeline } from './log-pipeline.js';
import { main as monitoring } from './monitoring.js';
import { main as observability } from './observability.js';
import { main as orderProcessing } from './order-processing.js';
import { main as requestReply } from './request-reply.js';
import { main as scheduling } from './scheduling.js';
import { main as schemas } from './schemas.js';
import { main as workQueue } from './work-queue.js';

/** Starts `main` on a fresh TestClock storage and moves time far enough for every retry to run. */
async function run<R>(main: (options: { storage: MemoryStorage }) => Promise<R>, advanceMs = 60_000): Promise<{ result: R; clock: TestClock }> {
  const clock = new TestClock(Date.UTC(2026, 10, 27));
  const storage = new MemoryStorage({ clock });
  const done = main({ storage });
  await clock.advance(advanceMs);
  return { result: await done, clock };
}

describe('examples', () => {
  it('schemas - refuses an invalid send, dead-letters a message written without the schema, and hands the handler the output', async () => {
    const { result } = await run(schemas);
    expect(result.welcomed).toEqual([{ email: 'ada@example.com', plan: 'pro', signedUpAt: '2026-11-27T09:30:00.000Z' }]);
    expect(result.refused.map((issue) => issue.split(':')[0])).toEqual(['email', 'plan', 'signedUpAt']);
    expect(result.dead).toEqual([{ body: { email: 'grace@example.com' }, reason: 'invalid' }]);
  });

  it('encryption - keeps card numbers off the disk, handles the signed orders across a key rotation, and dead-letters the forged one', async () => {
    const result = await encryption();
    expect(result).toEqual({ cardOnDisk: false, handled: ['o-1', 'o-2'], deadReasons: ['bad-signature'] });
  });

  it('scheduling - sends three heartbeats a second apart, lists the nightly report at 03:00 Paris time, and ends with no schedule left', async () => {
    const start = Date.UTC(2026, 10, 27);
    const { result } = await run(scheduling);
    expect(result.handled).toEqual([1, 2, 3].map((k) => ({ schedule: 'heartbeat', kind: 'heartbeat', at: start + k * 1_000 })));
    expect(result.listed).toEqual([
      { id: 'heartbeat', next: start + 1_000 },
      // 03:00 in Paris in November is 02:00 UTC.
      { id: 'nightly', next: Date.UTC(2026, 10, 27, 2) },
    ]);
    expect(result.left).toEqual([]);
  });

  it('order-processing - charges, reserves and notifies each order, and fans its event out to billing, shipping and analytics', async () => {
    const { result } = await run(orderProcessing);
    expect([...result.charged].sort()).toEqual(['o-1', 'o-2', 'o-3']);
    expect(result.paymentRetries).toBe(1);
    expect(result.reserved).toEqual({ mug: 3, tea: 5, pot: 1 });
    expect(result.emails).toHaveLength(3);
    expect(result.invoices).toEqual([
      { orderId: 'o-1', amount: 40 },
      { orderId: 'o-2', amount: 25 },
      { orderId: 'o-3', amount: 60 },
    ]);
    expect(result.shipments.map((s) => s.orderId)).toEqual(['o-1', 'o-2', 'o-3']);
    expect(result.revenue).toBe(125);
  });

  it('log-pipeline - stores every entry and raises an alert for each error entry only', async () => {
    const { result } = await run(logPipeline);
    expect(Object.keys(result.indexes)).toEqual(['logs-2026-11']);
    expect(result.indexes['logs-2026-11']).toHaveLength(5);
    expect(result.alerts.map((a) => `${a.service}: ${a.message}`)).toEqual(['billing: card processor unreachable', 'api: database connection reset']);
  });

  it('image-processing - runs every task once and marks each image ready when all its tasks are done', async () => {
    const { result } = await run(imageProcessing);
    expect(Object.keys(result.images)).toEqual(['img-1', 'img-2', 'img-3']);
    for (const [id, image] of Object.entries(result.images)) {
      expect(image.status).toBe('ready');
      expect([...image.outputs].sort()).toEqual([`${id}-q80.jpg`, `${id}-thumb-150x150.jpg`, `${id}-thumb-300x300.jpg`, `${id}.json`]);
    }
    expect(Object.values(result.tasksPerWorker).reduce((a, b) => a + b, 0)).toBe(12);
  });

  it('work-queue - five workers share the tasks, each task is completed once, and the failed one is retried', async () => {
    const { result } = await run(workQueue);
    expect(Object.keys(result.completedBy).map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const completions = Object.values(result.perWorker).flat();
    expect(completions).toHaveLength(20);
    expect(Object.values(result.perWorker).filter((ids) => ids.length > 0)).toHaveLength(5);
    expect(result.retried).toBe(1);
    expect(result.results[6]).toBe(49);
  });

  it('dead-letter-analysis - redrives the dead letters that timed out and records the invalid one', async () => {
    const { result } = await run(deadLetterAnalysis);
    expect(result.processed).toEqual(['p-1', 'p-4', 'p-2', 'p-5']);
    expect(result.redriven).toBe(2);
    expect(result.recorded).toEqual([{ id: 'p-3', reason: 'invalid-amount', error: '', attempts: 1 }]);
    expect(result.leftInDeadLetterQueue).toBe(0);
  });

  it('monitoring - computes published, consumed, error rate, wait time, depth and throughput from events and stats()', async () => {
    const { result } = await run(monitoring);
    expect(result.afterSending).toMatchObject({ published: 12, consumed: 0, errors: 0, depth: 12, throughputPerMinute: 0 });
    expect(result.atEnd).toMatchObject({ published: 12, consumed: 12, errors: 3, errorRate: 3 / 15, depth: 0, averageProcessingTime: 0 });
    // Delays of 100..1,200 ms, plus 50 ms more for the three retried deliveries.
    expect(result.atEnd.averageWaitTime).toBe((7_800 + 450 + 850 + 1_250) / 15);
    // Twelve acked between the send and the last ack, 1,250 ms later.
    expect(result.atEnd.throughputPerMinute).toBe((12 * 60_000) / 1_250);
  });

  it('observability - one trace per request from send to handler, retries included; metrics() and the exported metrics agree', async () => {
    const { result } = await run(observability);
    const count = (name: string, parent?: string) => result.spans.filter((s) => s.name === name && (parent === undefined || s.parent === parent)).length;
    // One send span for ada, one batch span for bob and cy, both under the request's span.
    expect(count('send emails', 'POST /signup')).toBe(2);
    // Three messages, bob's twice (its first attempt failed): every run under a send span.
    expect(count('process emails', 'send emails')).toBe(4);
    expect(count('render template', 'process emails')).toBe(4);
    expect(result.spans.find((s) => s.name === 'process emails')!.kind).toBe('CONSUMER');
    expect(result.metrics).toMatchObject({ sent: 3, delivered: 4, acked: 3, retried: 1, failed: 1, errorRate: 1 / 4 });
    expect(result.metrics.processing.count).toBe(4);
    expect(result.exported).toEqual({ sent: 3, consumed: 4, processed: 4 });
  });

  it('request-reply - answers concurrent quotes, reports an unknown SKU as a RemoteError and a stopped service as a timeout', async () => {
    const { result } = await run(requestReply);
    expect(result.quotes).toEqual([
      { sku: 'mug', total: 24 },
      { sku: 'tea', total: 45 },
      { sku: 'pot', total: 30 },
    ]);
    expect(result.remoteError).toEqual({ message: 'unknown sku "lamp"', remoteName: 'RangeError' });
    expect(result.timedOut).toBe(true);
  });

  it('dashboard - serves the page and the API under /queues/, listing the orders and the one dead letter', async () => {
    const { result } = await run(dashboardApp);
    expect(result.pageStatus).toBe(200);
    expect(result.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/queues\/$/);
    expect(result.queues.map(({ name, stats }) => [name, stats.ready, stats.acked, stats.deadLettered])).toEqual([
      ['orders', 0, 4, 1],
      ['orders.dlq', 1, 0, 0],
    ]);
  });
});
