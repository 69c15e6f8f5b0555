/**
 * An {@link Inspector} on a running app's dashboard (`--url`), through its JSON API
 * (docs/dashboard.md): how to reach a directory another process holds, or an app's
 * storage from another machine.
 */
import type { QueueStats } from '../engine/types.js';
import { InvalidArgumentError, PocketMQError, ReadOnlyError } from '../errors.js';
import type { PeekedMessage } from '../message.js';
import type { MessageState } from '../storage/storage.js';
import { usageError } from './exit-codes.js';
import type { QueueSummary } from '../dashboard/api.js';
import type { Inspector } from './inspector.js';

/** A PeekedMessage as the API sends it: absent values are null. */
type PeekedMessageJson = { [K in keyof PeekedMessage<unknown>]: PeekedMessage<unknown>[K] | null };

export class HttpInspector implements Inspector {
  /** The dashboard's address without a trailing slash: its `basePath` included. */
  readonly #base: string;
  readonly #token: string | undefined;

  constructor(url: string, token: string | undefined) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw usageError('--url', `expected the http:// or https:// address of a running dashboard, got "${url}"`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw usageError('--url', `expected an http:// or https:// address, got "${url}"`);
    this.#base = `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
    this.#token = token;
  }

  async #call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<Record<string, unknown>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const url = `${this.#base}${path}`;
    let response: Response;
    try {
      response = await fetch(url, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    } catch (error) {
      const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
      throw new PocketMQError('ERR_DASHBOARD_UNREACHABLE', `--url ${this.#base}: no dashboard answered (${cause})`, { cause: error });
    }
    const text = await response.text();
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
    if (!response.ok) throw this.#failure(response.status, data, method, path);
    if (typeof data !== 'object' || data === null) {
      throw new PocketMQError('ERR_DASHBOARD_RESPONSE', `--url ${this.#base}: ${method} ${path} answered with something that is not a JSON object (is this a pocketmq dashboard?)`);
    }
    return data as Record<string, unknown>;
  }

  #failure(status: number, data: unknown, method: string, path: string): Error {
    const error = (data as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    const code = typeof error?.code === 'string' ? error.code : `ERR_HTTP_${status}`;
    const said = typeof error?.message === 'string' ? error.message : `${method} ${path} answered HTTP ${status}`;
    const message = `--url ${this.#base}: ${said}`;
    if (status === 401) return new PocketMQError('ERR_UNAUTHORIZED', `${message} (give the dashboard's token with --token or PMQ_TOKEN)`);
    if (code === 'ERR_READ_ONLY') return new ReadOnlyError(method === 'DELETE' ? 'remove' : path.split('/').at(-1)!, message);
    if (status === 403) return new PocketMQError('ERR_FORBIDDEN', message);
    if (status === 400) return new InvalidArgumentError('--url', message);
    return new PocketMQError(code, message);
  }

  async queues(): Promise<QueueSummary[]> {
    return (await this.#call('GET', '/api/queues')).queues as QueueSummary[];
  }

  async stats(queue: string): Promise<QueueStats> {
    return (await this.#call('GET', `/api/queues/${encodeURIComponent(queue)}`)).stats as QueueStats;
  }

  async peek(queue: string, state: MessageState, max: number): Promise<PeekedMessage<unknown>[]> {
    const data = await this.#call('GET', `/api/queues/${encodeURIComponent(queue)}/messages?state=${state}&max=${max}`);
    return (data.messages as PeekedMessageJson[]).map((m) => ({
      ...m,
      headers: m.headers ?? {},
      correlationId: m.correlationId ?? undefined,
      group: m.group ?? undefined,
      subject: m.subject ?? undefined,
      leaseUntil: m.leaseUntil ?? undefined,
    })) as PeekedMessage<unknown>[];
  }

  async redrive(queue: string, options: { max?: number; to?: string }): Promise<number> {
    return (await this.#call('POST', `/api/queues/${encodeURIComponent(queue)}/redrive`, options)).moved as number;
  }

  async purge(queue: string): Promise<number> {
    return (await this.#call('POST', `/api/queues/${encodeURIComponent(queue)}/purge`, {})).purged as number;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
