import {
  type Attributes,
  type BatchObservableResult,
  context,
  type Counter,
  diag,
  type Histogram,
  type Meter,
  type MeterProvider,
  metrics,
  type Observable,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  trace,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { ClosedError } from '../errors.js';
import type { HandlerContext } from '../handler-context.js';
import { instrumentation, type InstrumentationHook, type ObservedQueue, type SendTracker } from '../instrumentation.js';
import type { Message } from '../message.js';
import type { NewMessage, Storage } from '../storage/storage.js';
import { checkKeys, checkObject, expected } from '../validate.js';
import * as names from './semconv.js';
import { w3cTraceContext } from './trace-context.js';

/** Options of {@link instrument}. */
export interface InstrumentOptions {
  /** Where spans go. @defaultValue the global tracer provider (`trace.getTracerProvider()`), followed as it changes */
  tracerProvider?: TracerProvider;
  /** Where metrics go. @defaultValue the global meter provider as registered when `instrument()` is called */
  meterProvider?: MeterProvider;
  /**
   * How the trace context is written into and read from message headers.
   * @defaultValue the global propagator when one is registered, else W3C Trace Context (`traceparent`, `tracestate`)
   */
  propagator?: TextMapPropagator;
}

const OPTION_KEYS = ['tracerProvider', 'meterProvider', 'propagator'];
const SCOPE = 'pocketmq';

const headerSetter: TextMapSetter<Record<string, string>> = {
  set(carrier, key, value) {
    carrier[key] = value;
  },
};

const headerGetter: TextMapGetter<Readonly<Record<string, string>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => (Object.hasOwn(carrier, key) ? carrier[key] : undefined),
};

/**
 * Turns on OpenTelemetry traces and metrics for every pocketmq handle in the process
 * (both module formats), and returns the function that turns them off again.
 *
 * - Each `send()`, `sendBatch()`, `publish()`, `publishBatch()` and request/reply reply makes
 *   a PRODUCER span (`send <queue>` / `publish <topic>`; one span per batch, with
 *   `messaging.batch.message_count`) and writes its context into every message's headers
 *   (`traceparent`, `tracestate`).
 * - Each `consume()` / `subscribe()` / `serve()` handler run is a CONSUMER span
 *   `process <queue>` whose parent is the context the message carries; the handler runs
 *   in it, so spans it starts nest under it. A retry is a new process span in the same
 *   trace. A handler that throws sets the span's status to ERROR and `error.type`.
 * - Metrics: `messaging.client.sent.messages`, `messaging.client.consumed.messages`,
 *   `messaging.process.duration` (s), and the gauges `pocketmq.queue.depth`
 *   (attribute `state`: ready, delayed, inflight) and `pocketmq.queue.oldest_age`
 *   (s) for each queue a handle is open on.
 *
 * One instrumentation is active at a time: a second `instrument()` replaces the first,
 * and turning off an instrumentation that was replaced does nothing.
 *
 * ```ts
 * import { instrument } from 'pocketmq/otel';
 * const uninstrument = instrument({ tracerProvider, meterProvider });
 * ```
 */
export function instrument(options?: InstrumentOptions): () => void {
  const o = options === undefined ? {} : checkObject('options', options);
  checkKeys('options', o, OPTION_KEYS);
  const tracerProvider = o.tracerProvider === undefined ? trace.getTracerProvider() : checkProvider<TracerProvider>('options.tracerProvider', o.tracerProvider, 'getTracer', 'a TracerProvider');
  const meterProvider = o.meterProvider === undefined ? metrics.getMeterProvider() : checkProvider<MeterProvider>('options.meterProvider', o.meterProvider, 'getMeter', 'a MeterProvider');
  const propagator = o.propagator === undefined ? undefined : checkProvider<TextMapPropagator>('options.propagator', o.propagator, 'inject', 'a TextMapPropagator');
  const hook = new OtelHook(tracerProvider.getTracer(SCOPE), meterProvider.getMeter(SCOPE), propagator);
  instrumentation.hook = hook;
  let on = true;
  return () => {
    if (!on) return;
    on = false;
    hook.close();
    if (instrumentation.hook === hook) instrumentation.hook = undefined;
  };
}

function checkProvider<P>(name: string, value: unknown, method: string, what: string): P {
  if (typeof value !== 'object' || value === null || typeof (value as Record<string, unknown>)[method] !== 'function') throw expected(name, `${what} (an object with ${method}())`, value);
  return value as P;
}

/** `error.type` per the conventions: the error's class name, or `_OTHER` for what is not an Error. */
function errorType(error: unknown): string {
  return error instanceof Error ? error.name : '_OTHER';
}

function failSpan(span: Span, error: unknown): void {
  span.setAttribute(names.ATTR_ERROR_TYPE, errorType(error));
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

class OtelHook implements InstrumentationHook {
  readonly #tracer: Tracer;
  readonly #propagator: TextMapPropagator | undefined;
  readonly #meter: Meter;
  readonly #sent: Counter;
  readonly #consumed: Counter;
  readonly #duration: Histogram;
  readonly #observables: Observable[];

  constructor(tracer: Tracer, meter: Meter, propagator: TextMapPropagator | undefined) {
    this.#tracer = tracer;
    this.#meter = meter;
    this.#propagator = propagator;
    this.#sent = meter.createCounter(names.METRIC_SENT_MESSAGES, { description: 'Messages a producer attempted to send (store).', unit: '{message}' });
    this.#consumed = meter.createCounter(names.METRIC_CONSUMED_MESSAGES, { description: 'Messages handed to a consume() handler.', unit: '{message}' });
    this.#duration = meter.createHistogram(names.METRIC_PROCESS_DURATION, {
      description: 'How long a consume() handler ran, start to settle.',
      unit: 's',
      advice: { explicitBucketBoundaries: names.PROCESS_DURATION_BUCKETS },
    });
    const depth = meter.createObservableGauge(names.METRIC_QUEUE_DEPTH, { description: 'Messages in the queue, by state.', unit: '{message}' });
    const age = meter.createObservableGauge(names.METRIC_QUEUE_OLDEST_AGE, { description: 'Age of the next ready message (0 when none is ready).', unit: 's' });
    this.#observables = [depth, age];
    meter.addBatchObservableCallback(this.#observe, this.#observables);
  }

  close(): void {
    this.#meter.removeBatchObservableCallback(this.#observe, this.#observables);
  }

  /** The propagator in force now: the global one may be registered after `instrument()`. */
  #currentPropagator(): TextMapPropagator {
    if (this.#propagator) return this.#propagator;
    return propagation.fields().length > 0 ? propagation : w3cTraceContext;
  }

  send(destination: string, items: NewMessage[], operation: 'send' | 'publish'): SendTracker {
    const attributes: Attributes = {
      [names.ATTR_MESSAGING_SYSTEM]: names.MESSAGING_SYSTEM,
      [names.ATTR_MESSAGING_DESTINATION_NAME]: destination,
      [names.ATTR_MESSAGING_OPERATION_TYPE]: 'send',
      [names.ATTR_MESSAGING_OPERATION_NAME]: operation,
    };
    const metricAttributes = { ...attributes };
    delete metricAttributes[names.ATTR_MESSAGING_OPERATION_TYPE];
    if (items.length === 1) {
      const item = items[0]!;
      attributes[names.ATTR_MESSAGING_MESSAGE_ID] = item.id;
      if (item.correlationId !== undefined) attributes[names.ATTR_MESSAGING_MESSAGE_CONVERSATION_ID] = item.correlationId;
    } else {
      attributes[names.ATTR_MESSAGING_BATCH_MESSAGE_COUNT] = items.length;
    }
    const parent = context.active();
    const span = this.#tracer.startSpan(`${operation} ${destination}`, { kind: SpanKind.PRODUCER, attributes }, parent);
    const spanContext = trace.setSpan(parent, span);
    const propagator = this.#currentPropagator();
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      const headers: Record<string, string> = { ...item.headers };
      propagator.inject(spanContext, headers, headerSetter);
      items[i] = { ...item, headers };
    }
    const sent = this.#sent;
    const count = items.length;
    return {
      end(error: unknown) {
        if (error !== undefined) {
          failSpan(span, error);
          metricAttributes[names.ATTR_ERROR_TYPE] = errorType(error);
        }
        sent.add(count, metricAttributes);
        span.end();
      },
    };
  }

  process<T>(queue: string, message: Message<T>, handler: (message: Message<T>, context: HandlerContext) => unknown, handlerContext: HandlerContext): unknown {
    // From the root, not the active context: the consumer loop's context belongs to whatever ran before.
    const parent = this.#currentPropagator().extract(ROOT_CONTEXT, message.headers, headerGetter);
    const attributes: Attributes = {
      [names.ATTR_MESSAGING_SYSTEM]: names.MESSAGING_SYSTEM,
      [names.ATTR_MESSAGING_DESTINATION_NAME]: queue,
      [names.ATTR_MESSAGING_OPERATION_TYPE]: 'process',
      [names.ATTR_MESSAGING_OPERATION_NAME]: 'process',
      [names.ATTR_MESSAGING_MESSAGE_ID]: message.id,
      [names.ATTR_POCKETMQ_MESSAGE_ATTEMPT]: message.attempt,
    };
    if (message.correlationId !== undefined) attributes[names.ATTR_MESSAGING_MESSAGE_CONVERSATION_ID] = message.correlationId;
    const span = this.#tracer.startSpan(`process ${queue}`, { kind: SpanKind.CONSUMER, attributes }, parent);
    const metricAttributes: Attributes = {
      [names.ATTR_MESSAGING_SYSTEM]: names.MESSAGING_SYSTEM,
      [names.ATTR_MESSAGING_DESTINATION_NAME]: queue,
      [names.ATTR_MESSAGING_OPERATION_NAME]: 'process',
    };
    this.#consumed.add(1, metricAttributes);
    const started = performance.now();
    const finish = (error: unknown, failed: boolean) => {
      if (failed) {
        failSpan(span, error);
        metricAttributes[names.ATTR_ERROR_TYPE] = errorType(error);
      }
      this.#duration.record((performance.now() - started) / 1_000, metricAttributes);
      span.end();
    };
    let result: unknown;
    try {
      result = context.with(trace.setSpan(parent, span), handler, undefined, message, handlerContext);
    } catch (error) {
      finish(error, true);
      throw error;
    }
    if (typeof (result as PromiseLike<unknown> | null)?.then !== 'function') {
      finish(undefined, false);
      return result;
    }
    return Promise.resolve(result).then(
      (value) => {
        finish(undefined, false);
        return value;
      },
      (error: unknown) => {
        finish(error, true);
        throw error;
      },
    );
  }

  /** The depth gauges: each queue with an open handle, once per storage, asked of its storage. */
  readonly #observe = async (result: BatchObservableResult): Promise<void> => {
    const [depth, age] = this.#observables as [Observable, Observable];
    const seen = new Map<Storage, Set<string>>();
    const queues: ObservedQueue[] = [];
    for (const ref of instrumentation.queues) {
      const queue = ref.deref();
      if (queue === undefined) {
        instrumentation.queues.delete(ref);
        continue;
      }
      let known = seen.get(queue.storage);
      if (!known) seen.set(queue.storage, (known = new Set()));
      if (known.has(queue.name)) continue;
      known.add(queue.name);
      queues.push(queue);
    }
    await Promise.all(
      queues.map(async ({ name, storage }) => {
        try {
          const now = storage.clock.now();
          const [stats, [next]] = await Promise.all([storage.stats(name, now), storage.peek(name, 1, now)]);
          const base = { [names.ATTR_MESSAGING_SYSTEM]: names.MESSAGING_SYSTEM, [names.ATTR_MESSAGING_DESTINATION_NAME]: name };
          result.observe(depth, stats.ready, { ...base, [names.ATTR_QUEUE_STATE]: 'ready' });
          result.observe(depth, stats.delayed, { ...base, [names.ATTR_QUEUE_STATE]: 'delayed' });
          result.observe(depth, stats.inflight, { ...base, [names.ATTR_QUEUE_STATE]: 'inflight' });
          result.observe(age, next === undefined ? 0 : Math.max(0, now - next.enqueuedAt) / 1_000, base);
        } catch (error) {
          // A storage closed since its handle opened has nothing to report.
          if (!(error instanceof ClosedError)) diag.warn(`pocketmq/otel: could not read the depth of queue "${name}"`, error);
        }
      }),
    );
  };
}
