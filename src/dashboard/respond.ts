import type { IncomingMessage, ServerResponse } from 'node:http';
import { PocketMQError } from '../errors.js';
import { expected } from '../validate.js';
import { DASHBOARD_DEFAULTS } from './options.js';

/** Headers on every answer: nothing is cached, sniffed, framed, or given a referrer. */
const COMMON_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { ...COMMON_HEADERS, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendBytes(res: ServerResponse, status: number, headers: Record<string, string | number>, body: Buffer | string): void {
  res.writeHead(status, { ...COMMON_HEADERS, ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Answers with the API's error shape: `{ error: { code, message } }`. */
export function refuse(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  sendJson(res, status, { error: { code, message } });
}

const BAD_ARGUMENT = new Set(['ERR_INVALID_ARGUMENT', 'ERR_OUT_OF_RANGE', 'ERR_INVALID_BODY']);

/** Answers for an error an operation threw: 400 for a bad argument, 501 for an unsupported operation, 500 otherwise. */
export function sendError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy(error instanceof Error ? error : undefined);
    return;
  }
  if (error instanceof PocketMQError) {
    const { code, message } = error as PocketMQError;
    const status = BAD_ARGUMENT.has(code) ? 400 : code === 'ERR_UNSUPPORTED' ? 501 : 500;
    refuse(res, status, code, message);
    return;
  }
  refuse(res, 500, 'ERR_INTERNAL', error instanceof Error ? error.message : String(error));
}

/**
 * The request's JSON body: `{}` when empty. A framework that already parsed it
 * (express.json(), connect's body parsers) leaves it on `req.body`.
 */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const parsed = (req as { body?: unknown }).body;
  if (parsed !== undefined && req.readableEnded) return parsed;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > DASHBOARD_DEFAULTS.bodyLimit) throw expected('body', `JSON of at most ${DASHBOARD_DEFAULTS.bodyLimit} bytes`, `${size}+ bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw expected('body', 'JSON', text.length > 40 ? `${text.slice(0, 40)}…` : text);
  }
}
