/** The JSON API, as the handler serves it under the page's own URL (docs/dashboard.md). */

// Type-only: the shapes the handler serves, erased from the page's bundle.
import type { MessageJson, QueueSummary } from '../api.js';
import type { MessageState, QueueStats } from '../../storage/storage.js';

export type { MessageJson, MessageState, QueueStats };

export interface QueuesSnapshot {
  readonly queues: readonly QueueSummary[];
  readonly readOnly: boolean;
}

/** An answer other than 2xx, with the API's error code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const TOKEN_KEY = 'pocketmq.dashboard.token';

/** The token lives in sessionStorage: sent in a header by our own code, never as a cookie a browser would attach for another site. */
export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (value: string) => sessionStorage.setItem(TOKEN_KEY, value),
};

function headers(json: boolean): Record<string, string> {
  const result: Record<string, string> = { accept: 'application/json' };
  const value = token.get();
  if (value) result.authorization = `Bearer ${value}`;
  if (json) result['content-type'] = 'application/json';
  return result;
}

async function failure(response: Response): Promise<ApiError> {
  try {
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    return new ApiError(response.status, error.code, error.message);
  } catch {
    return new ApiError(response.status, 'ERR_HTTP', `${response.status} ${response.statusText}`);
  }
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  // Every change says it is JSON, with or without a body: the server refuses changes that do not.
  const response = await fetch(path, { method, headers: headers(method !== 'GET'), body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

const queuePath = (name: string) => `api/queues/${encodeURIComponent(name)}`;

export const api = {
  messages: (queue: string, state: MessageState, max: number) =>
    call<{ messages: MessageJson[] }>('GET', `${queuePath(queue)}/messages?state=${state}&max=${max}`).then((r) => r.messages),
  redrive: (queue: string) => call<{ moved: number }>('POST', `${queuePath(queue)}/redrive`, {}).then((r) => r.moved),
  purge: (queue: string) => call<{ purged: number }>('POST', `${queuePath(queue)}/purge`, {}).then((r) => r.purged),
  remove: (queue: string, id: string) => call<{ removed: boolean }>('DELETE', `${queuePath(queue)}/messages/${encodeURIComponent(id)}`).then((r) => r.removed),
};

/**
 * Reads `api/events` until it ends or `signal` aborts, calling `onQueues` for each
 * `queues` event. Through fetch rather than EventSource, which cannot send the token header.
 */
export async function streamQueues(onQueues: (snapshot: QueuesSnapshot) => void, onError: (error: ApiError) => void, signal: AbortSignal): Promise<void> {
  const response = await fetch('api/events', { headers: headers(false), signal });
  if (!response.ok || response.body === null) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if (event === 'queues') onQueues(JSON.parse(data.join('\n')) as QueuesSnapshot);
      else if (event === 'error') {
        const { error } = JSON.parse(data.join('\n')) as { error: { code: string; message: string } };
        onError(new ApiError(500, error.code, error.message));
      }
    }
  }
}
