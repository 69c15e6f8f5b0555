import { type Context, createTraceState, isSpanContextValid, type TextMapPropagator, trace, TraceFlags } from '@opentelemetry/api';

const TRACEPARENT = 'traceparent';
const TRACESTATE = 'tracestate';
/** Version 00 and, as the W3C spec asks, any later version read by its first four fields. */
const TRACEPARENT_FORMAT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * W3C Trace Context (`traceparent` and `tracestate`) on the API alone: what pocketmq/otel
 * uses when no global propagator is registered (the API's default propagates nothing), so
 * a message always carries its trace without `@opentelemetry/core`.
 */
export const w3cTraceContext: TextMapPropagator = {
  inject(context: Context, carrier, setter) {
    const span = trace.getSpanContext(context);
    if (!span || !isSpanContextValid(span)) return;
    setter.set(carrier, TRACEPARENT, `00-${span.traceId}-${span.spanId}-0${(span.traceFlags & TraceFlags.SAMPLED).toString(16)}`);
    const state = span.traceState?.serialize();
    if (state) setter.set(carrier, TRACESTATE, state);
  },

  extract(context: Context, carrier, getter) {
    const header = first(getter.get(carrier, TRACEPARENT));
    const match = header === undefined ? null : TRACEPARENT_FORMAT.exec(header.trim());
    if (!match || match[1] === 'ff' || (match[1] === '00' && match[5] !== undefined)) return context;
    const state = first(getter.get(carrier, TRACESTATE));
    const span = {
      traceId: match[2]!,
      spanId: match[3]!,
      traceFlags: parseInt(match[4]!, 16) & TraceFlags.SAMPLED,
      isRemote: true,
      traceState: state === undefined ? undefined : createTraceState(state),
    };
    return isSpanContextValid(span) ? trace.setSpanContext(context, span) : context;
  },

  fields() {
    return [TRACEPARENT, TRACESTATE];
  },
};

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
