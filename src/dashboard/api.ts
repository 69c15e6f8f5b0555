import { UnsupportedError } from '../errors.js';
import type { PeekedMessage } from '../message.js';
import type { MessageState } from '../storage/storage.js';
import { Queue } from '../queue.js';
import type { QueueStats, Storage } from '../storage/storage.js';
import { checkName, checkOneOf, expected, isName } from '../validate.js';
import { DASHBOARD_DEFAULTS } from './options.js';

/** One queue as the API lists it. */
export interface QueueSummary {
  readonly name: string;
  readonly stats: QueueStats;
}

/** A {@link PeekedMessage} as JSON: absent fields are `null`. */
export interface MessageJson {
  readonly id: string;
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string>>;
  readonly attempt: number;
  readonly enqueuedAt: number;
  readonly priority: number;
  readonly correlationId: string | null;
  readonly group: string | null;
  /** The subject it was published under (a topic's fan-out), or null. */
  readonly subject: string | null;
  readonly state: MessageState;
  readonly availableAt: number;
  readonly leaseUntil: number | null;
}

const STATES: readonly MessageState[] = ['ready', 'delayed', 'inflight'];

/** Runs `operation` on a handle that lives for one request, so the dashboard holds nothing open between requests. */
async function withQueue<R>(storage: Storage, name: string, operation: (queue: Queue) => Promise<R>): Promise<R> {
  const queue = new Queue(checkName('queue', name), { storage });
  try {
    return await operation(queue);
  } finally {
    await queue.close();
  }
}

/** The queues of the storage, sorted, with their counts. pocketmq's own queues (a topic's `::subscriptions`) are left out. */
export async function listQueues(storage: Storage): Promise<QueueSummary[]> {
  if (storage.queues === undefined) throw new UnsupportedError('queues', 'This storage cannot list its queues (it has no queues())');
  const now = storage.clock.now();
  const names = (await storage.queues(now)).filter(isName);
  return Promise.all(names.map(async (name) => ({ name, stats: await storage.stats(name, now) })));
}

export function queueSummary(storage: Storage, name: string): Promise<QueueSummary> {
  return withQueue(storage, name, async (queue) => ({ name: queue.name, stats: await queue.stats() }));
}

/** A message as the API (and the CLI's `--json`) sends it: absent values are null. */
export function messageJson(message: PeekedMessage<unknown>): MessageJson {
  return {
    id: message.id,
    body: message.body,
    headers: message.headers,
    attempt: message.attempt,
    enqueuedAt: message.enqueuedAt,
    priority: message.priority,
    correlationId: message.correlationId ?? null,
    group: message.group ?? null,
    subject: message.subject ?? null,
    state: message.state,
    availableAt: message.availableAt,
    leaseUntil: message.leaseUntil ?? null,
  };
}

/** `?state=ready|delayed|inflight&max=N` of `GET /api/queues/:name/messages`. */
export function resolveMessagesQuery(query: URLSearchParams): { state: MessageState; max: number } {
  const state = checkOneOf('state', query.get('state') ?? 'ready', STATES);
  const rawMax = query.get('max');
  const { messagesMax, messagesLimit } = DASHBOARD_DEFAULTS;
  if (rawMax === null) return { state, max: messagesMax };
  const max = /^\d{1,7}$/.test(rawMax) ? Number(rawMax) : NaN;
  if (!(max >= 1 && max <= messagesLimit)) throw expected('max', `an integer from 1 to ${messagesLimit}`, rawMax, RangeError);
  return { state, max };
}

export function listMessages(storage: Storage, name: string, query: URLSearchParams): Promise<MessageJson[]> {
  const options = resolveMessagesQuery(query);
  return withQueue(storage, name, async (queue) => (await queue.peek(options)).map(messageJson));
}

export function redrive(storage: Storage, name: string, body: unknown): Promise<number> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw expected('body', 'a JSON object such as { "max": 10, "to": "orders" }', body);
  return withQueue(storage, name, (queue) => queue.redrive(body));
}

export function purge(storage: Storage, name: string): Promise<number> {
  return withQueue(storage, name, (queue) => queue.purge());
}

export function remove(storage: Storage, name: string, id: string): Promise<boolean> {
  return withQueue(storage, name, (queue) => queue.remove(id));
}
