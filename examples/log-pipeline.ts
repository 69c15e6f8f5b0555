/**
 * A log pipeline: services publish log entries on a topic under the subject
 * `<service>.<level>`. One subscription stores every entry; another, filtered to
 * `*.error`, raises an alert on the alert queue for each error entry.
 *
 * Run it: npx tsx examples/log-pipeline.ts
 */
import { MemoryStorage, Queue, Topic } from '../src/index.js';
import { type ExampleOptions, isMain } from './run-main.js';

type Level = 'debug' | 'info' | 'warn' | 'error';

interface LogEntry {
  timestamp: number;
  level: Level;
  service: string;
  message: string;
  metadata?: Record<string, string>;
}

interface Alert {
  type: 'error_alert';
  service: string;
  message: string;
  timestamp: number;
}

export interface LogPipelineResult {
  /** Stored entries per monthly index, like `logs-2026-11`. */
  indexes: Record<string, LogEntry[]>;
  /** Alerts delivered to the on-call channel. */
  alerts: Alert[];
}

export async function main({ storage = new MemoryStorage(), log = () => {} }: ExampleOptions = {}): Promise<LogPipelineResult> {
  const result: LogPipelineResult = { indexes: {}, alerts: [] };
  const logs = new Topic<LogEntry>('application-logs', { storage });
  const alertQueue = new Queue<Alert>('alert-queue', { storage });

  // Every entry goes to storage, in a monthly index.
  const store = logs.subscribe('store', async ({ body }) => {
    const index = `logs-${new Date(body.timestamp).toISOString().slice(0, 7)}`;
    (result.indexes[index] ??= []).push(body);
  });

  // Only error entries, whatever the service, raise an alert.
  const errors = logs.subscribe(
    'error-alerts',
    async ({ body }) => {
      await alertQueue.send({ type: 'error_alert', service: body.service, message: body.message, timestamp: body.timestamp });
    },
    { filter: '*.error' },
  );

  const onCall = alertQueue.consume(async ({ body }) => {
    result.alerts.push(body);
    log(`ALERT ${body.service}: ${body.message}`);
  });

  async function sendLog(entry: Omit<LogEntry, 'timestamp'>): Promise<void> {
    const timestamp = storage.clock.now();
    await logs.publish({ ...entry, timestamp }, { subject: `${entry.service}.${entry.level}` });
    log(`${entry.service} [${entry.level}] ${entry.message}`);
  }

  await sendLog({ level: 'info', service: 'api', message: 'GET /orders 200' });
  await sendLog({ level: 'warn', service: 'api', message: 'slow response (1.2 s)' });
  await sendLog({ level: 'error', service: 'billing', message: 'card processor unreachable', metadata: { orderId: 'o-7' } });
  await sendLog({ level: 'debug', service: 'worker', message: 'picked job 42' });
  await sendLog({ level: 'error', service: 'api', message: 'database connection reset' });

  await Promise.all([store.queue!.idle(), errors.queue!.idle()]);
  await alertQueue.idle();
  await Promise.all([logs.close(), onCall.stop()]);
  return result;
}

if (isMain(import.meta.url)) {
  const { indexes, alerts } = await main({ log: console.log });
  for (const [index, entries] of Object.entries(indexes)) console.log(`${index}: ${entries.length} entries stored`);
  console.log(`${alerts.length} alerts raised`);
}
