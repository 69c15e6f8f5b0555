/**
 * Observability: `queue.metrics()` for numbers in the process, and OpenTelemetry
 * (`pocketmq/otel`) for traces that follow each message from the code that sent it to
 * the handler that processed it, plus metrics an exporter sends to a collector or
 * Prometheus. Here the spans and metrics go to the SDK's in-memory exporters (no
 * network); docs/observability.md shows the OTLP and Prometheus exporters instead.
 *
 * Run it: npx tsx examples/observability.ts
 */
import { context, SpanKind } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, type DataPoint, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { MemoryStorage, Queue, type QueueMetrics } from '../src/index.js';
import { instrument } from '../src/otel.js';
import { type ExampleOptions, isMain } from './run-main.js';

export interface ObservabilityResult {
  /** Each finished span: its name, kind, and its parent's name (undefined for a root). */
  spans: { name: string; kind: string; parent: string | undefined }[];
  /** What `queue.metrics()` reported once the queue was idle. */
  metrics: QueueMetrics;
  /** Sums of the OpenTelemetry counters, and how many durations the histogram holds. */
  exported: { sent: number; consumed: number; processed: number };
}

export async function main({ storage = new MemoryStorage(), log = () => {} }: ExampleOptions = {}): Promise<ObservabilityResult> {
  // The SDK, set up once at start-up (NodeSDK from @opentelemetry/sdk-node does the same in one call).
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] });
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 60_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const uninstrument = instrument({ tracerProvider, meterProvider });
  const tracer = tracerProvider.getTracer('signup-service');

  const emails = new Queue<{ to: string }>('emails', { storage, backoff: { initial: 100, jitter: 'none' } });
  const failedOnce = new Set<string>();
  const worker = emails.consume(async (msg) => {
    // A span the handler starts nests under the "process emails" span it runs in.
    const render = tracer.startSpan('render template');
    render.end();
    if (msg.body.to.startsWith('b') && !failedOnce.has(msg.body.to)) {
      failedOnce.add(msg.body.to);
      throw new Error('mail server busy');
    }
  });

  // The sends happen inside the app's own span: the whole story is one trace per request.
  await tracer.startActiveSpan('POST /signup', async (request) => {
    await emails.send({ to: 'ada@example.com' });
    await emails.sendBatch([{ body: { to: 'bob@example.com' } }, { body: { to: 'cy@example.com' } }]);
    request.end();
  });
  await emails.idle();
  await worker.stop();

  const metrics = emails.metrics();
  log(`queue.metrics(): ${JSON.stringify(metrics)}`);

  await reader.forceFlush();
  const sum = (name: string, of: (value: unknown) => number) =>
    metricExporter
      .getMetrics()
      .at(-1)!
      .scopeMetrics.flatMap((scope) => scope.metrics)
      .filter((metric) => metric.descriptor.name === name)
      .flatMap((metric): DataPoint<unknown>[] => metric.dataPoints)
      .reduce((total, point) => total + of(point.value), 0);
  const exported = {
    sent: sum('messaging.client.sent.messages', Number),
    consumed: sum('messaging.client.consumed.messages', Number),
    processed: sum('messaging.process.duration', (value) => (value as { count: number }).count),
  };
  log(`exported: ${JSON.stringify(exported)}`);

  const finished = spanExporter.getFinishedSpans();
  const nameOf = new Map(finished.map((span) => [span.spanContext().spanId, span.name]));
  const spans = finished.map((span) => ({
    name: span.name,
    kind: SpanKind[span.kind],
    parent: span.parentSpanContext === undefined ? undefined : nameOf.get(span.parentSpanContext.spanId),
  }));
  for (const span of spans) log(`span ${span.kind} "${span.name}" under ${span.parent ?? '(root)'}`);

  uninstrument();
  await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
  contextManager.disable();
  context.disable();
  return { spans, metrics, exported };
}

if (isMain(import.meta.url)) {
  await main({ log: console.log });
}
