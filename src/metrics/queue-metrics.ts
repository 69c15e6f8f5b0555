import { COUNT_STEP_MS, COUNT_STEPS, RollingCounts } from './rolling-counts.js';
import { DurationHistogram, type DurationSummary } from './duration-histogram.js';

/** Rates over the last 60 s (or since the handle opened, when that is shorter), per second. */
export interface QueueRates {
  /** Messages this handle stored, per second. */
  readonly sentPerSec: number;
  /** Deliveries this handle acked, per second. */
  readonly ackedPerSec: number;
  /** Deliveries whose handler failed (threw, rejected, or nacked), per second. */
  readonly failedPerSec: number;
}

/**
 * What `queue.metrics()` reports: what this handle did, counted in memory without a
 * storage call. Counters run from when the handle was made; `processing`, `rates` and
 * `errorRate` cover the last 60 s on the storage's clock (a `TestClock` drives them).
 */
export interface QueueMetrics {
  /** Messages stored by this handle's `send()`/`sendBatch()` (or `publish()` on a Topic); duplicates excluded. */
  readonly sent: number;
  /** Deliveries this handle leased (by `consume()` or `receive()`), redeliveries included. */
  readonly delivered: number;
  /** Deliveries acked. */
  readonly acked: number;
  /** Deliveries released for another attempt (a failed handler or a nack before the last attempt). */
  readonly retried: number;
  /** Messages this handle dead-lettered: after the last attempt, by `deadLetter()`, or found by a claim past `maxAttempts` or dropped by overflow. */
  readonly deadLettered: number;
  /** Messages whose TTL ran out, as this handle's `'expired'` event reports them. */
  readonly expired: number;
  /** Deliveries whose processing failed: the handler threw or rejected, or the message was nacked. */
  readonly failed: number;
  /** How long `consume()` handlers ran, from start to settle, in ms, over the last 60 s (in 5 s steps). */
  readonly processing: DurationSummary;
  /** Rates over the last 60 s, in 1 s steps. */
  readonly rates: QueueRates;
  /** `failed / (acked + failed)` over the last 60 s; 0 when neither happened. */
  readonly errorRate: number;
}

/** Kinds of the rolling counts. */
const SENT = 0;
const ACKED = 1;
const FAILED = 2;

/**
 * @internal What a queue handle records for {@link QueueMetrics}: plain counters, one
 * {@link RollingCounts} and, once a handler has run, one {@link DurationHistogram}.
 */
export class MetricsRecorder {
  sent = 0;
  delivered = 0;
  acked = 0;
  retried = 0;
  deadLettered = 0;
  expired = 0;
  failed = 0;
  readonly openedAt: number;
  readonly rolling = new RollingCounts(3);
  /** Made by the first handler that settles: handles that only send never pay for it. */
  durations: DurationHistogram | undefined = undefined;

  constructor(now: number) {
    this.openedAt = now;
  }

  recordSent(count: number, now: number): void {
    this.sent += count;
    this.rolling.add(SENT, count, now);
  }

  recordAcked(count: number, now: number): void {
    this.acked += count;
    this.rolling.add(ACKED, count, now);
  }

  recordFailed(now: number): void {
    this.failed++;
    this.rolling.add(FAILED, 1, now);
  }

  /** The histogram, its window moved to `now`, for a batch of durations. */
  durationsAt(now: number): DurationHistogram {
    return (this.durations ??= new DurationHistogram()).at(now);
  }
}

/** The counters and windows of `recorders` (a handle's, or a Topic's and its subscriptions'), added up, at `now`. */
export function snapshot(recorders: readonly MetricsRecorder[], now: number): QueueMetrics {
  let sent = 0;
  let delivered = 0;
  let acked = 0;
  let retried = 0;
  let deadLettered = 0;
  let expired = 0;
  let failed = 0;
  let sentInWindow = 0;
  let ackedInWindow = 0;
  let failedInWindow = 0;
  let openedAt = Infinity;
  const histograms: DurationHistogram[] = [];
  for (const r of recorders) {
    sent += r.sent;
    delivered += r.delivered;
    acked += r.acked;
    retried += r.retried;
    deadLettered += r.deadLettered;
    expired += r.expired;
    failed += r.failed;
    sentInWindow += r.rolling.total(SENT, now);
    ackedInWindow += r.rolling.total(ACKED, now);
    failedInWindow += r.rolling.total(FAILED, now);
    if (r.openedAt < openedAt) openedAt = r.openedAt;
    if (r.durations) histograms.push(r.durations);
  }
  // The window starts at the oldest step the ring holds, or when the handle opened if later; at least 1 s.
  const windowStart = Math.max(openedAt, (Math.floor(now / COUNT_STEP_MS) - COUNT_STEPS + 1) * COUNT_STEP_MS);
  const seconds = Math.max(now - windowStart, COUNT_STEP_MS) / 1_000;
  const settled = ackedInWindow + failedInWindow;
  return {
    sent,
    delivered,
    acked,
    retried,
    deadLettered,
    expired,
    failed,
    processing: DurationHistogram.summary(histograms, now),
    rates: { sentPerSec: sentInWindow / seconds, ackedPerSec: ackedInWindow / seconds, failedPerSec: failedInWindow / seconds },
    errorRate: settled === 0 ? 0 : failedInWindow / settled,
  };
}
