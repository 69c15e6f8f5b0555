import type { IncomingMessage, ServerResponse } from 'node:http';
import { PocketMQError } from '../errors.js';

/**
 * Server-sent events: an event `queues` with `snapshot()`'s JSON at once and then every
 * `interval` ms until the client goes. The next snapshot is taken only once the previous
 * one was written, so a slow storage never piles requests up. A snapshot that fails is
 * sent as an `error` event (the stream stays open: the storage may come back).
 */
export function streamEvents(req: IncomingMessage, res: ServerResponse, interval: number, snapshot: () => Promise<unknown>): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    // Proxies such as nginx would otherwise hold the events back.
    'x-accel-buffering': 'no',
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let open = true;
  const stop = () => {
    open = false;
    clearTimeout(timer);
  };
  req.once('close', stop);
  res.once('close', stop);
  const send = async () => {
    let event: string;
    try {
      event = `event: queues\ndata: ${JSON.stringify(await snapshot())}\n\n`;
    } catch (error) {
      const code = error instanceof PocketMQError ? (error as PocketMQError).code : 'ERR_INTERNAL';
      const message = error instanceof Error ? error.message : String(error);
      event = `event: error\ndata: ${JSON.stringify({ error: { code, message } })}\n\n`;
    }
    if (!open) return;
    res.write(event);
    timer = setTimeout(send, interval);
  };
  void send();
}
