import type { IncomingMessage, ServerResponse } from 'node:http';
import { expected } from '../validate.js';
import { listMessages, listQueues, purge, queueSummary, redrive, remove } from './api.js';
import { isPagePath, servePage } from './assets.js';
import { type Refusal, refusalOf } from './auth.js';
import { streamEvents } from './event-stream.js';
import { type DashboardOptions, type ResolvedDashboardOptions, resolveDashboardOptions } from './options.js';
import { readJsonBody, refuse, sendError, sendJson } from './respond.js';

/**
 * A Node request listener: `http.createServer(handler)`, or middleware for express and
 * connect (`app.use(handler)`), which calls `next()` for a path that is not its own.
 */
export type DashboardHandler = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void;

interface Route {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly run: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;
}

/**
 * The dashboard of `options.storage`: a page that lists every queue with its counts and
 * rates, live, browses its messages, and redrives, removes and purges (each after a
 * confirmation), and the JSON API the page and `pocketmq --url` use (docs/dashboard.md).
 *
 * Without `token` it answers loopback clients only and refuses every change. With
 * `token`, every API request needs `Authorization: Bearer <token>`; the page asks for it.
 * Throws a `TypeError` naming the option when an option is invalid.
 *
 * ```ts
 * import { dashboard } from 'pocketmq/dashboard';
 * http.createServer(dashboard({ storage, token: process.env.PMQ_TOKEN })).listen(4000);
 * ```
 */
export function dashboard(options: DashboardOptions): DashboardHandler {
  const resolved = resolveDashboardOptions(options);
  const { basePath } = resolved;
  return (req, res, next) => {
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const path = url.pathname;
    if (basePath !== '' && path !== basePath && !path.startsWith(`${basePath}/`)) {
      if (next) next();
      else refuse(res, 404, 'ERR_NOT_FOUND', `Nothing at ${path}: the dashboard is under ${basePath}/`);
      return;
    }
    const rest = path.slice(basePath.length);
    // The page's links are relative, so its own URL must end with "/". A framework that
    // strips its mount path (express) keeps the URL the browser asked for in originalUrl.
    const asked = new URL((req as { originalUrl?: string }).originalUrl ?? req.url ?? '/', 'http://dashboard.invalid');
    if (rest === '' || (rest === '/' && !asked.pathname.endsWith('/'))) {
      res.writeHead(308, { location: `${asked.pathname}/${asked.search}` }).end();
      return;
    }
    if (rest.startsWith('/api/')) {
      void handleApi(req, res, url, rest.slice('/api/'.length), resolved).catch((error: unknown) => sendError(res, error));
      return;
    }
    if (!isPagePath(rest)) {
      if (next) next();
      else refuse(res, 404, 'ERR_NOT_FOUND', `Nothing at ${path}`);
      return;
    }
    const refusal = refusalOf(req, resolved, 'page');
    if (refusal) return sendRefusal(res, refusal);
    if (req.method !== 'GET') return refuse(res, 405, 'ERR_METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${path}; use GET`, { allow: 'GET' });
    servePage(req, res, rest).catch((error: unknown) => sendError(res, error));
  };
}

function sendRefusal(res: ServerResponse, refusal: Refusal): void {
  refuse(res, refusal.status, refusal.code, refusal.message, refusal.headers);
}

function decodeSegments(apiPath: string): string[] {
  return apiPath.split('/').map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      throw expected('path', 'URL-encoded path segments', segment);
    }
  });
}

/** The routes of one API path, by method; undefined when the path is not the API's. */
function routesOf(segments: string[], options: ResolvedDashboardOptions): Route[] | undefined {
  const { storage, interval, readOnly, token } = options;
  const snapshot = async () => ({ queues: await listQueues(storage), readOnly: readOnly || token === undefined });
  const [first, name, action, id, ...extra] = segments;
  if (extra.length > 0 || (name === '' || action === '' || id === '')) return undefined;
  if (first === 'events' && name === undefined) {
    return [{ method: 'GET', run: async (req, res) => streamEvents(req, res, interval, snapshot) }];
  }
  if (first !== 'queues') return undefined;
  if (name === undefined) return [{ method: 'GET', run: async (_req, res) => sendJson(res, 200, await snapshot()) }];
  if (action === undefined) return [{ method: 'GET', run: async (_req, res) => sendJson(res, 200, await queueSummary(storage, name)) }];
  if (action === 'messages' && id === undefined) {
    return [{ method: 'GET', run: async (_req, res, url) => sendJson(res, 200, { messages: await listMessages(storage, name, url.searchParams) }) }];
  }
  if (action === 'messages') return [{ method: 'DELETE', run: async (_req, res) => sendJson(res, 200, { removed: await remove(storage, name, id!) }) }];
  if (id !== undefined) return undefined;
  if (action === 'redrive') {
    return [{ method: 'POST', run: async (req, res) => sendJson(res, 200, { moved: await redrive(storage, name, await readJsonBody(req)) }) }];
  }
  if (action === 'purge') return [{ method: 'POST', run: async (_req, res) => sendJson(res, 200, { purged: await purge(storage, name) }) }];
  return undefined;
}

async function handleApi(req: IncomingMessage, res: ServerResponse, url: URL, apiPath: string, options: ResolvedDashboardOptions): Promise<void> {
  const refusal = refusalOf(req, options, 'read');
  if (refusal) return sendRefusal(res, refusal);
  const routes = routesOf(decodeSegments(apiPath), options);
  if (routes === undefined) return refuse(res, 404, 'ERR_NOT_FOUND', `No API at ${url.pathname}`);
  const route = routes.find((r) => r.method === req.method);
  if (route === undefined) {
    const allow = routes.map((r) => r.method).join(', ');
    return refuse(res, 405, 'ERR_METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${url.pathname}; use ${allow}`, { allow });
  }
  if (route.method !== 'GET') {
    const changeRefusal = refusalOf(req, options, 'change');
    if (changeRefusal) return sendRefusal(res, changeRefusal);
  }
  await route.run(req, res, url);
}
