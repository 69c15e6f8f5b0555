import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryStorage, Queue, RequestReply, Topic, type QueueOptions } from '../../src/index.js';
import { instrument } from '../../src/otel.js';
import { TestClock } from '../../src/testing.js';
import { otelSdk, parentOf, points } from '../helpers/otel.js';

let sdk: ReturnType<typeof otelSdk>;
let uninstrument: () => void;

beforeEach(() => {
  sdk = otelSdk();
  uninstrument = instrument({ tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider });
});

afterEach(async () => {
  uninstrument();
  await sdk.shutdown();
});

function setup<T = unknown>(options: Omit<QueueOptions, 'storage'> = {}, name = 'jobs') {
  const clock = new TestClock(1_000_000);
  const storage = new MemoryStorage({ clock });
  const queue = new Queue<T>(name, { storage, ...options });
  return { clock, storage, queue };
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

describe('instrument() - traces', () => {
  it('send() - a PRODUCER span "send <queue>" whose context travels in the traceparent header', async () => {
    const { queue } = setup<string>();
    const id = await queue.send('a', { correlationId: 'conv-1', headers: { kind: 'x' } });
    const [span] = sdk.named('send jobs');
    expect(span).toBeDefined();
    expect(span!.kind).toBe(SpanKind.PRODUCER);
    expect(span!.attributes).toEqual({
      'messaging.system': 'pocketmq',
      'messaging.destination.name': 'jobs',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.message.id': id,
      'messaging.message.conversation_id': 'conv-1',
    });
    const [stored] = await queue.peek(1);
    expect(stored!.headers.kind).toBe('x');
    const [, traceId, spanId] = TRACEPARENT.exec(stored!.headers.traceparent!)!;
    expect(traceId).toBe(span!.spanContext().traceId);
    expect(spanId).toBe(span!.spanContext().spanId);
  });

  it('consume() - a CONSUMER span "process <queue>" whose parent is the send span', async () => {
    const { queue, clock } = setup<string>();
    const id = await queue.send('a');
    queue.consume(() => {});
    await clock.runAll();
    const [send] = sdk.named('send jobs');
    const [process] = sdk.named('process jobs');
    expect(process!.kind).toBe(SpanKind.CONSUMER);
    expect(process!.spanContext().traceId).toBe(send!.spanContext().traceId);
    expect(parentOf(process!)).toBe(send!.spanContext().spanId);
    expect(process!.attributes).toMatchObject({
      'messaging.system': 'pocketmq',
      'messaging.destination.name': 'jobs',
      'messaging.operation.type': 'process',
      'messaging.message.id': id,
      'pocketmq.message.attempt': 1,
    });
    expect(process!.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('send() - nests under the caller\'s active span', async () => {
    const { queue } = setup<string>();
    await sdk.tracer.startActiveSpan('checkout', async (outer) => {
      await queue.send('a');
      outer.end();
    });
    const [outer] = sdk.named('checkout');
    const [send] = sdk.named('send jobs');
    expect(parentOf(send!)).toBe(outer!.spanContext().spanId);
  });

  it('consume() - a retry is a new process span in the same trace; a failure sets status and error.type', async () => {
    const { queue, clock } = setup<string>({ backoff: () => 10 });
    await queue.send('a');
    let calls = 0;
    class PaymentDeclined extends Error {
      override name = 'PaymentDeclined';
    }
    queue.consume(() => {
      if (++calls === 1) throw new PaymentDeclined('declined');
    });
    await clock.runAll();
    const [send] = sdk.named('send jobs');
    const runs = sdk.named('process jobs');
    expect(runs).toHaveLength(2);
    expect(runs.map((s) => s.attributes['pocketmq.message.attempt'])).toEqual([1, 2]);
    for (const run of runs) {
      expect(run.spanContext().traceId).toBe(send!.spanContext().traceId);
      expect(parentOf(run)).toBe(send!.spanContext().spanId);
    }
    expect(runs[0]!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'declined' });
    expect(runs[0]!.attributes['error.type']).toBe('PaymentDeclined');
    expect(runs[0]!.events.map((e) => e.name)).toEqual(['exception']);
    expect(runs[1]!.status.code).toBe(SpanStatusCode.UNSET);
    expect(runs[1]!.attributes['error.type']).toBeUndefined();
  });

  it('consume() - an async rejection and a synchronous throw both fail the span', async () => {
    const { queue, clock } = setup<number>({ maxAttempts: 1, deadLetter: false });
    await queue.send(1);
    await queue.send(2);
    queue.consume(async (msg) => {
      if (msg.body === 1) throw new TypeError('bad');
      return Promise.reject('not an error');
    });
    await clock.runAll();
    const types = sdk.named('process jobs').map((s) => s.attributes['error.type']);
    expect(types).toEqual(['TypeError', '_OTHER']);
  });

  it('consume() - the handler runs in its span: spans it starts nest under it', async () => {
    const { queue, clock } = setup<string>();
    await queue.send('a');
    queue.consume(async () => {
      await Promise.resolve();
      const child = sdk.tracer.startSpan('charge card');
      child.end();
      expect(trace.getActiveSpan()).toBeDefined();
    });
    await clock.runAll();
    const [process] = sdk.named('process jobs');
    const [child] = sdk.named('charge card');
    expect(parentOf(child!)).toBe(process!.spanContext().spanId);
    expect(child!.spanContext().traceId).toBe(process!.spanContext().traceId);
  });

  it('sendBatch() - one send span with messaging.batch.message_count, its context in every message', async () => {
    const { queue, clock } = setup<number>();
    await queue.sendBatch([{ body: 1 }, { body: 2 }, { body: 3 }]);
    const spans = sdk.named('send jobs');
    expect(spans).toHaveLength(1);
    expect(spans[0]!.attributes['messaging.batch.message_count']).toBe(3);
    expect(spans[0]!.attributes['messaging.message.id']).toBeUndefined();
    queue.consume(() => {});
    await clock.runAll();
    const runs = sdk.named('process jobs');
    expect(runs.map(parentOf)).toEqual(Array(3).fill(spans[0]!.spanContext().spanId));
  });

  it('send() - a rejected send ends its span with an error', async () => {
    const { queue } = setup<number>({ maxLength: 1 });
    await queue.send(1);
    await expect(queue.send(2)).rejects.toMatchObject({ code: 'ERR_QUEUE_FULL' });
    const [, failed] = sdk.named('send jobs');
    expect(failed!.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed!.attributes['error.type']).toBe('QueueFullError');
  });

  it('publish() - a "publish <topic>" span; each subscription\'s process span is its child', async () => {
    const clock = new TestClock(1_000_000);
    const storage = new MemoryStorage({ clock });
    const topic = new Topic<string>('events', { storage });
    const a = topic.subscribe('a', () => {});
    const b = topic.subscribe('b', () => {});
    await Promise.all([a.ready, b.ready]);
    await topic.publish('x');
    await clock.runAll();
    const [publish] = sdk.named('publish events');
    expect(publish!.kind).toBe(SpanKind.PRODUCER);
    expect(publish!.attributes).toMatchObject({ 'messaging.operation.type': 'send', 'messaging.operation.name': 'publish', 'messaging.destination.name': 'events' });
    const runs = sdk.spans().filter((s) => s.name.startsWith('process events'));
    expect(runs.map((s) => s.name).sort()).toEqual(['process events:a', 'process events:b']);
    for (const run of runs) expect(parentOf(run)).toBe(publish!.spanContext().spanId);
  });

  it('request() - one trace across requester and server: send, process, reply send, reply process', async () => {
    const clock = new TestClock(1_000_000);
    const storage = new MemoryStorage({ clock });
    const rpc = new RequestReply<number, number>('double', { storage });
    rpc.serve((n) => n * 2);
    const answer = await sdk.tracer.startActiveSpan('caller', async (caller) => {
      const reply = rpc.request(21);
      await clock.runAll();
      caller.end();
      return reply;
    });
    expect(answer).toBe(42);
    const [caller] = sdk.named('caller');
    const [send] = sdk.named('send double');
    const [serve] = sdk.named('process double');
    const replySend = sdk.spans().find((s) => s.name === `send ${rpc.replyQueue}`);
    const replyProcess = sdk.spans().find((s) => s.name === `process ${rpc.replyQueue}`);
    const chain = [caller, send, serve, replySend, replyProcess];
    expect(chain.every((s) => s !== undefined)).toBe(true);
    expect(new Set(chain.map((s) => s!.spanContext().traceId)).size).toBe(1);
    for (let i = 1; i < chain.length; i++) expect(parentOf(chain[i]!)).toBe(chain[i - 1]!.spanContext().spanId);
    expect(serve!.attributes['messaging.message.conversation_id']).toBe(replyProcess!.attributes['messaging.message.conversation_id']);
    await rpc.close();
  });

  it('the function instrument() returns turns it off: no span, no header', async () => {
    const { queue, clock } = setup<string>();
    uninstrument();
    await queue.send('a');
    queue.consume(() => {});
    await clock.runAll();
    expect(sdk.spans()).toEqual([]);
    const { queue: other } = setup<string>();
    await other.send('b');
    expect((await other.peek(1))[0]!.headers).toEqual({});
  });

  it('a second instrument() replaces the first; turning off the replaced one leaves it on', async () => {
    const { queue } = setup<string>();
    const second = otelSdk();
    const off = instrument({ tracerProvider: second.tracerProvider, meterProvider: second.meterProvider });
    uninstrument();
    await queue.send('a');
    expect(sdk.spans()).toEqual([]);
    expect(second.named('send jobs')).toHaveLength(1);
    off();
    await second.shutdown();
  });

  it('instrument() - rejects options that are not providers, naming them', () => {
    expect(() => instrument({ tracerProvider: {} as never })).toThrow(/options\.tracerProvider.*TracerProvider/);
    expect(() => instrument({ meterProvider: 42 as never })).toThrow(/options\.meterProvider.*MeterProvider/);
    expect(() => instrument({ propagator: null as never })).toThrow(/options\.propagator/);
    expect(() => instrument({ tracer: 1 } as never)).toThrow(/tracer/);
  });
});

describe('instrument() - metrics', () => {
  it('sent and consumed counters, the process duration histogram, by destination', async () => {
    const { queue, clock } = setup<number>({ maxAttempts: 1, deadLetter: false });
    await queue.send(1);
    await queue.sendBatch([{ body: 2 }, { body: 3 }]);
    queue.consume((msg) => {
      if (msg.body === 3) throw new RangeError('three');
    });
    await clock.runAll();
    const metrics = await sdk.metrics();
    const sent = points(metrics, 'messaging.client.sent.messages');
    expect(sent).toHaveLength(1);
    expect(sent[0]!.value).toBe(3);
    expect(sent[0]!.attributes).toEqual({ 'messaging.system': 'pocketmq', 'messaging.destination.name': 'jobs', 'messaging.operation.name': 'send' });
    const consumed = points(metrics, 'messaging.client.consumed.messages');
    expect(consumed.map((p) => p.value)).toEqual([3]);
    const durations = points(metrics, 'messaging.process.duration');
    const byError = Object.fromEntries(durations.map((p) => [String(p.attributes['error.type']), (p.value as { count: number }).count]));
    expect(byError).toEqual({ undefined: 2, RangeError: 1 });
  });

  it('pocketmq.queue.depth by state and pocketmq.queue.oldest_age, for each queue with an open handle', async () => {
    const { queue, clock, storage } = setup<number>();
    await queue.send(1);
    await clock.advance(3_000);
    await queue.send(2);
    await queue.send(3, { delay: 60_000 });
    const [leased] = await queue.receive({ max: 1 });
    const other = new Queue('empty', { storage });
    const metrics = await sdk.metrics();
    const depth = points(metrics, 'pocketmq.queue.depth').filter((p) => p.attributes['messaging.destination.name'] === 'jobs');
    const byState = Object.fromEntries(depth.map((p) => [p.attributes.state, p.value]));
    expect(byState).toEqual({ ready: 1, delayed: 1, inflight: 1 });
    // Handles of earlier tests are still open on storages of their own: look at this test's queues.
    const mine = (p: { attributes: Record<string, unknown> }) => ['jobs', 'empty'].includes(p.attributes['messaging.destination.name'] as string);
    const ages = Object.fromEntries(points(metrics, 'pocketmq.queue.oldest_age').filter(mine).map((p) => [p.attributes['messaging.destination.name'], p.value]));
    // Message 1 is leased; the next ready one (2) was sent at the current time.
    expect(ages).toEqual({ jobs: 0, empty: 0 });
    await clock.advance(2_500);
    const later = Object.fromEntries(points(await sdk.metrics(), 'pocketmq.queue.oldest_age').map((p) => [p.attributes['messaging.destination.name'], p.value]));
    expect(later.jobs).toBe(2.5);
    await leased!.ack();
    await other.close();
    // A handle whose storage closed has nothing to report; collecting still works.
    await storage.close();
    await expect(sdk.metrics()).resolves.toBeDefined();
  });
});
