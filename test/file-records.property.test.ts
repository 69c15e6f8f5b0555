/**
 * Property: whatever the journal and the snapshot encoder are given, what they write
 * reads back as the same records, or they refuse it before writing anything. A
 * record is never written and then refused by replay (issue 18, defect 1).
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EngineRestorer, QueueCounters, RemovalKind } from '../src/engine/persistence.js';
import { FRAME_HEADER_SIZE, frameEnd } from '../src/file/frame.js';
import { UnencodableFieldError } from '../src/file/record-fields.js';
import { RecordJournal } from '../src/file/record-journal.js';
import { Fold } from '../src/file/replay.js';
import { encodeSnapshot } from '../src/file/snapshot.js';
import { PLAIN_BODIES, RecordBodies } from '../src/file/record-bodies.js';
import { encryption } from '../src/crypto.js';
import { CodecChain } from '../src/storage/body-codec.js';
import type { StoredMessage } from '../src/storage/storage.js';

const ODD_STRINGS = ['', '\ud800', 'a\udc00b', '\u2028\u2029', '\u0000', '__proto__', 'constructor', '"]},[0,', 'PMQB', '😀'];
const ODD_NUMBERS = [Number.NaN, Infinity, -Infinity, -0, 2 ** 60, 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 0.5, -1];

const goodText = fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom(...ODD_STRINGS));
const goodKey = goodText.filter((s) => s.length > 0);
const goodTime = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(1e308, -1e308, 5e-324, -0));
const goodCount = fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER));
const goodPriority = fc.oneof(fc.integer(), fc.constantFrom(Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, -0));
/** Any number, NaN, infinities, -0 and huge ones included. */
const anyNumber = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(...ODD_NUMBERS));
/** Mostly `good`, sometimes anything a bug could pass. */
const mixed = <T>(good: fc.Arbitrary<T>, odd: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> => fc.oneof({ weight: 3, arbitrary: good }, { weight: 1, arbitrary: odd });
const anyNumberField = (good: fc.Arbitrary<number>) => mixed(good, fc.oneof(anyNumber, fc.constantFrom(undefined, null, '1')));
const anyStringField = (good: fc.Arbitrary<string>) => mixed(good, fc.constantFrom(undefined, null, 7, ''));

/** Headers whose keys may be "__proto__": built as own properties, as checkHeaders builds them. */
function headersOf(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
  const headers: Record<string, unknown> = {};
  for (const [key, value] of entries) Object.defineProperty(headers, key, { value, enumerable: true, writable: true, configurable: true });
  return headers;
}
const goodHeaders = fc.option(fc.array(fc.tuple(goodText, goodText), { maxLength: 4 }).map(headersOf), { nil: undefined });
const anyHeaders = mixed(goodHeaders, fc.array(fc.tuple(goodText, fc.oneof(goodText, anyNumber)), { minLength: 1, maxLength: 3 }).map(headersOf));

const body = fc.option(fc.jsonValue(), { nil: undefined });

function messageArb(good: boolean): fc.Arbitrary<{ message: StoredMessage; dedupeUntil: unknown }> {
  const num = (g: fc.Arbitrary<number>) => (good ? g : anyNumberField(g));
  const str = (g: fc.Arbitrary<string>) => (good ? g : anyStringField(g));
  const optional = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
  return fc
    .record({
      id: str(goodKey),
      body,
      headers: good ? goodHeaders : anyHeaders,
      priority: num(goodPriority),
      enqueuedAt: num(goodTime),
      availableAt: num(goodTime),
      expiresAt: optional(num(goodTime)),
      dedupeId: optional(str(goodKey)),
      group: optional(str(goodText)),
      correlationId: optional(str(goodText)),
      subject: optional(str(goodText)),
      attempt: num(goodCount),
      dedupeUntil: optional(num(goodTime)),
    })
    .map(({ dedupeUntil, ...message }) => ({
      message: message as unknown as StoredMessage,
      dedupeUntil: good && message.dedupeId === undefined ? undefined : dedupeUntil,
    }));
}

type Op =
  | { kind: 'put'; queue: unknown; message: StoredMessage; dedupeUntil: unknown }
  | { kind: 'claim'; queue: unknown; message: StoredMessage }
  | { kind: 'release'; queue: unknown; message: StoredMessage }
  | { kind: 'remove'; queue: unknown; id: unknown; removal: RemovalKind };

function opArb(good: boolean): fc.Arbitrary<Op> {
  const queue = good ? goodKey : anyStringField(goodKey);
  return fc.oneof(
    fc.record({ kind: fc.constant('put' as const), queue, m: messageArb(good) }).map(({ kind, queue, m }) => ({ kind, queue, ...m })),
    fc.record({ kind: fc.constant('claim' as const), queue, m: messageArb(good) }).map(({ kind, queue, m }) => ({ kind, queue, message: m.message })),
    fc.record({ kind: fc.constant('release' as const), queue, m: messageArb(good) }).map(({ kind, queue, m }) => ({ kind, queue, message: m.message })),
    fc.record({ kind: fc.constant('remove' as const), queue, id: good ? goodKey : anyStringField(goodKey), removal: fc.constantFrom<RemovalKind>('acked', 'dead', 'expired', 'purged') }),
  );
}

/** -0 is written as 0: the same instant, count or priority. */
const same = (value: unknown): unknown => (Object.is(value, -0) ? 0 : value);
const json = (value: unknown): unknown => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

/** What replay must hand the engine for `op`. */
function expectedCalls(op: Op): unknown[][] {
  switch (op.kind) {
    case 'put': {
      const m = op.message;
      const calls: unknown[][] = [
        [
          'put',
          op.queue,
          {
            id: m.id, body: json(m.body), headers: m.headers, priority: same(m.priority), enqueuedAt: same(m.enqueuedAt), availableAt: same(m.availableAt),
            expiresAt: same(m.expiresAt), dedupeId: m.dedupeId, group: m.group, correlationId: m.correlationId, subject: m.subject, attempt: same(m.attempt),
          },
        ],
      ];
      if (op.dedupeUntil !== undefined) calls.push(['dedupe', op.queue, m.dedupeId, m.id, same(op.dedupeUntil)]);
      return calls;
    }
    case 'claim':
      return [['claimed', op.queue, op.message.id, same(op.message.attempt)]];
    case 'release':
      return [['released', op.queue, op.message.id, same(op.message.availableAt)]];
    case 'remove':
      return [['removed', op.queue, op.id]];
  }
}

/** A restorer that records what replay hands it. */
function recorder(): { restorer: EngineRestorer; calls: unknown[][]; token: number[]; counters: Map<string, QueueCounters> } {
  const calls: unknown[][] = [];
  const token: number[] = [];
  const counters = new Map<string, QueueCounters>();
  const restorer: EngineRestorer = {
    put: (queue, message) => calls.push(['put', queue, { ...message }]),
    claimed: (queue, id, attempt) => calls.push(['claimed', queue, id, attempt]),
    released: (queue, id, availableAt) => calls.push(['released', queue, id, availableAt]),
    removed: (queue, id) => calls.push(['removed', queue, id]),
    dedupe: (queue, dedupeId, id, until) => calls.push(['dedupe', queue, dedupeId, id, until]),
    counters: (queue) => {
      let c = counters.get(queue);
      if (!c) counters.set(queue, (c = { sent: 0, delivered: 0, acked: 0, retried: 0, deadLettered: 0, expired: 0 }));
      return c;
    },
    lastToken: (t) => token.push(t),
    schedule: (queue, schedule) => calls.push(['schedule', queue, schedule.id]),
    unschedule: (queue, id) => calls.push(['unschedule', queue, id]),
    messageCount: () => 0,
    finish: () => undefined,
    abort: () => undefined,
  };
  return { restorer, calls, token, counters };
}

/** Reads one frame back through replay's own code. */
function replayFrame(frame: Buffer, fold: Fold): void {
  expect(frameEnd(frame, 0)).toBe(frame.length);
  fold.apply(frame.subarray(FRAME_HEADER_SIZE));
}

function journalRoundTrip(ops: readonly Op[], lastToken: unknown): 'refused' | 'written' {
  const journal = new RecordJournal();
  for (const op of ops) {
    if (op.kind === 'put') journal.inserted(op.queue as string, op.message, op.dedupeUntil as number | undefined);
    else if (op.kind === 'claim') journal.claimed(op.queue as string, op.message);
    else if (op.kind === 'release') journal.released(op.queue as string, op.message);
    else journal.removed(op.queue as string, op.id as string, op.removal);
  }
  let frame: Buffer;
  try {
    if (journal.failure) throw journal.failure;
    frame = journal.take(lastToken as number);
  } catch (error) {
    expect(error).toBeInstanceOf(UnencodableFieldError);
    expect((error as Error).message).toMatch(/^Expected log record field `\w+` to be /);
    return 'refused';
  }
  const { restorer, calls, token } = recorder();
  replayFrame(frame, new Fold(restorer));
  expect(token).toEqual([same(lastToken)]);
  expect(calls).toEqual(ops.flatMap(expectedCalls));
  return 'written';
}

describe('FileStorage records: write → read round-trip (property)', () => {
  it('RecordJournal - any batch of records with odd values in every field reads back the same, or is refused before it is written', () => {
    const outcomes = { refused: 0, written: 0 };
    fc.assert(
      fc.property(fc.array(opArb(false), { minLength: 1, maxLength: 6 }), anyNumberField(goodCount), (ops, lastToken) => {
        outcomes[journalRoundTrip(ops, lastToken)]++;
      }),
      { numRuns: 2_000 },
    );
    // Both branches ran: the property checked real round trips, not only refusals.
    expect(outcomes.written).toBeGreaterThan(100);
    expect(outcomes.refused).toBeGreaterThan(100);
  });

  it('RecordJournal - records whose fields are all of their type and range are never refused', () => {
    fc.assert(
      fc.property(fc.array(opArb(true), { minLength: 1, maxLength: 6 }), goodCount, (ops, lastToken) => {
        expect(journalRoundTrip(ops, lastToken)).toBe('written');
      }),
      { numRuns: 1_000 },
    );
  });

  it.each([
    ['plain bodies', PLAIN_BODIES],
    ['bodies through a codec', new RecordBodies(new CodecChain([encryption({ keys: { k1: randomBytes(32) }, current: 'k1' })]))],
  ])('encodeSnapshot() - any state reads back the same through replay, or is refused before it is written (%s)', (_name, bodies) => {
    const counters = fc.record({ sent: anyNumberField(goodCount), delivered: goodCount, acked: goodCount, retried: goodCount, deadLettered: goodCount, expired: anyNumberField(goodCount) });
    const state = fc.record({
      lastToken: anyNumberField(goodCount),
      // An engine holds one state per queue name, so a snapshot never names a queue twice.
      queues: fc.uniqueArray(
        fc.record({
          name: anyStringField(goodKey),
          messages: fc.array(messageArb(false).map((m) => m.message), { maxLength: 3 }),
          dedupe: fc.array(fc.tuple(anyStringField(goodKey), anyStringField(goodKey), anyNumberField(goodTime)), { maxLength: 2 }),
          counters,
        }),
        { maxLength: 2, selector: (q) => q.name },
      ),
    });
    const outcomes = { refused: 0, written: 0 };
    fc.assert(
      fc.property(state, (s) => {
        let frames: Buffer[];
        try {
          frames = encodeSnapshot(s as never, bodies);
        } catch (error) {
          expect(error).toBeInstanceOf(UnencodableFieldError);
          outcomes.refused++;
          return;
        }
        const { restorer, calls, counters: read } = recorder();
        const fold = new Fold(restorer, bodies);
        for (const frame of frames) replayFrame(frame, fold);
        expect(fold.ended).toBe(true);
        const expected: unknown[][] = [];
        for (const q of s.queues) {
          for (const m of q.messages) expected.push(...expectedCalls({ kind: 'put', queue: q.name, message: m, dedupeUntil: undefined }));
          for (const [key, id, until] of q.dedupe) expected.push(['dedupe', q.name, key, id, same(until)]);
        }
        expect(calls).toEqual(expected);
        for (const q of s.queues) expect(read.get(q.name as string)).toEqual(Object.fromEntries(Object.entries(q.counters).map(([k, v]) => [k, same(v)])));
        outcomes.written++;
      }),
      { numRuns: 1_000 },
    );
    expect(outcomes.written).toBeGreaterThan(50);
    expect(outcomes.refused).toBeGreaterThan(50);
  });
});
