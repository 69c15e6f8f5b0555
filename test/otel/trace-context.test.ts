import { createTraceState, defaultTextMapGetter, defaultTextMapSetter, propagation, ROOT_CONTEXT, type TextMapPropagator, trace, TraceFlags } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStorage, Queue } from '../../src/index.js';
import { instrument } from '../../src/otel.js';
import { w3cTraceContext } from '../../src/otel/trace-context.js';
import { otelSdk } from '../helpers/otel.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';

function extracted(carrier: Record<string, string>) {
  return trace.getSpanContext(w3cTraceContext.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter));
}

describe('w3cTraceContext', () => {
  it('inject() - writes traceparent and tracestate of the context\'s span', () => {
    const context = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED, traceState: createTraceState('vendor=a,other=b') });
    const carrier: Record<string, string> = {};
    w3cTraceContext.inject(context, carrier, defaultTextMapSetter);
    expect(carrier).toEqual({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, tracestate: 'vendor=a,other=b' });
  });

  it('inject() - writes nothing without a valid span context', () => {
    const carrier: Record<string, string> = {};
    w3cTraceContext.inject(ROOT_CONTEXT, carrier, defaultTextMapSetter);
    w3cTraceContext.inject(trace.setSpanContext(ROOT_CONTEXT, { traceId: '0'.repeat(32), spanId: SPAN_ID, traceFlags: 1 }), carrier, defaultTextMapSetter);
    expect(carrier).toEqual({});
  });

  it('extract() - reads what inject() wrote, as a remote span context', () => {
    expect(extracted({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, tracestate: 'vendor=a' })).toMatchObject({
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    expect(extracted({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-00` })!.traceFlags).toBe(TraceFlags.NONE);
    // A later version is read by its first four fields.
    expect(extracted({ traceparent: `01-${TRACE_ID}-${SPAN_ID}-01-extra` })!.spanId).toBe(SPAN_ID);
  });

  it('extract() - ignores malformed, all-zero and version ff headers', () => {
    for (const traceparent of ['', 'garbage', `00-${TRACE_ID}-${SPAN_ID}`, `00-${'0'.repeat(32)}-${SPAN_ID}-01`, `00-${TRACE_ID}-${'0'.repeat(16)}-01`, `ff-${TRACE_ID}-${SPAN_ID}-01`, `00-${TRACE_ID}-${SPAN_ID}-01-extra`, `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`]) {
      expect(extracted({ traceparent }), traceparent).toBeUndefined();
    }
  });
});

describe('instrument() - propagators', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  const custom: TextMapPropagator = {
    inject(context, carrier, setter) {
      const span = trace.getSpanContext(context);
      if (span) setter.set(carrier, 'x-trace', `${span.traceId}:${span.spanId}`);
    },
    extract: (context) => context,
    fields: () => ['x-trace'],
  };

  async function headersOfASend(): Promise<Readonly<Record<string, string>>> {
    const queue = new Queue<number>('jobs', { storage: new MemoryStorage() });
    await queue.send(1);
    const [message] = await queue.peek(1);
    return message!.headers;
  }

  it('uses the global propagator once one is registered, even after instrument()', async () => {
    const sdk = otelSdk();
    const off = instrument({ tracerProvider: sdk.tracerProvider });
    cleanup = async () => {
      off();
      propagation.disable();
      await sdk.shutdown();
    };
    expect(Object.keys(await headersOfASend())).toEqual(['traceparent']);
    propagation.setGlobalPropagator(custom);
    expect(Object.keys(await headersOfASend())).toEqual(['x-trace']);
  });

  it('uses options.propagator over the global one', async () => {
    const sdk = otelSdk();
    const off = instrument({ tracerProvider: sdk.tracerProvider, propagator: custom });
    cleanup = async () => {
      off();
      await sdk.shutdown();
    };
    expect(Object.keys(await headersOfASend())).toEqual(['x-trace']);
  });
});
