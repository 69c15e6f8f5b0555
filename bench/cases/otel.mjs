// W1 (send N `{ id }`, drain with an async no-op handler) with OpenTelemetry off, on with the
// API alone (no SDK: every span and instrument a no-op), and on with a real SDK exporting to
// memory. Every subject returns { n, sendMs, drainMs }, as W1's do.
import { pocketmq, Skip } from '../lib.mjs';
import { subjects as w1Subjects } from './w1.mjs';

// W1's own subject: the "off" row is exactly what W1 measures.
const w1 = (params) => w1Subjects.pocketmq(params);

/** The OpenTelemetry packages, resolved from the repository's devDependencies. */
async function otel() {
  try {
    return {
      api: await import('@opentelemetry/api'),
      hooks: await import('@opentelemetry/context-async-hooks'),
      traces: await import('@opentelemetry/sdk-trace-base'),
      metrics: await import('@opentelemetry/sdk-metrics'),
    };
  } catch (error) {
    if (error?.code === 'ERR_MODULE_NOT_FOUND') throw new Skip('the @opentelemetry devDependencies are not installed');
    throw error;
  }
}

export const subjects = {
  /** No instrument(): what every user who does not import pocketmq/otel runs. */
  off: (params) => w1(params),

  /** instrument() with the global providers and no SDK registered: the API's no-op tracer and meter. */
  async 'no-op provider'(params) {
    await otel();
    const { instrument } = await pocketmq('/otel');
    const uninstrument = instrument();
    try {
      return await w1(params);
    } finally {
      uninstrument();
    }
  },

  /** The SDK as an app sets it up (batching span processor, AsyncLocalStorage context), exporting to memory. */
  async 'SDK, in-memory exporter'(params) {
    const { api, hooks, traces, metrics } = await otel();
    const { instrument } = await pocketmq('/otel');
    api.context.setGlobalContextManager(new hooks.AsyncLocalStorageContextManager().enable());
    const spans = new traces.InMemorySpanExporter();
    const tracerProvider = new traces.BasicTracerProvider({ spanProcessors: [new traces.BatchSpanProcessor(spans, { maxQueueSize: 1 << 20, maxExportBatchSize: 4096 })] });
    const reader = new metrics.PeriodicExportingMetricReader({ exporter: new metrics.InMemoryMetricExporter(metrics.AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
    const meterProvider = new metrics.MeterProvider({ readers: [reader] });
    const uninstrument = instrument({ tracerProvider, meterProvider });
    try {
      return await w1(params);
    } finally {
      uninstrument();
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    }
  },
};
