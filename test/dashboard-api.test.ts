/**
 * The dashboard's JSON API and security model through a real http server (the contract in
 * docs/dashboard.md): routes, answers, errors, auth, read-only, the event stream, and
 * mounting under a base path or as connect-style middleware.
 */
import { createServer, request, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { dashboard } from '../src/dashboard.js';
import { MemoryStorage, Queue } from '../src/index.js';
import type { DashboardOptions } from '../src/dashboard.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function serve(listener: RequestListener): Promise<string> {
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** http.request rather than fetch: it may set any Host header. */
function call(base: string, method: string, path: string, options: { headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers: options.headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode!, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const TOKEN = 's3cret-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const JSON_AUTH = { ...AUTH, 'content-type': 'application/json' };

/** A storage with `orders` (two ready, one delayed) and `orders.dlq` (two dead letters). */
async function fixture(): Promise<MemoryStorage> {
  const storage = new MemoryStorage();
  const orders = new Queue('orders', { storage, maxAttempts: 1 });
  await orders.send({ n: 1 });
  await orders.send({ n: 2 });
  for (const message of await orders.receive({ max: 2 })) await message.nack();
  await orders.send({ n: 3 }, { headers: { trace: 'abc' } });
  await orders.send({ n: 4 });
  await orders.send({ n: 5 }, { delay: 60_000 });
  await orders.close();
  return storage;
}

async function start(options: Partial<DashboardOptions> = {}): Promise<{ base: string; storage: MemoryStorage }> {
  const storage = options.storage instanceof MemoryStorage ? options.storage : await fixture();
  return { base: await serve(dashboard({ storage, token: TOKEN, ...options }) as RequestListener), storage };
}

describe('dashboard JSON API', () => {
  it('GET /api/queues lists every queue, sorted, with its stats', async () => {
    const { base } = await start();
    const answer = await call(base, 'GET', '/api/queues', { headers: AUTH });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(answer.json.readOnly).toBe(false);
    expect(answer.json.queues.map((q: { name: string }) => q.name)).toEqual(['orders', 'orders.dlq']);
    expect(answer.json.queues[0].stats).toMatchObject({ ready: 2, delayed: 1, inflight: 0, sent: 5, deadLettered: 2 });
    expect(answer.json.queues[1].stats).toMatchObject({ ready: 2, delayed: 0, inflight: 0 });
  });

  it('GET /api/queues/:name answers one queue, URL-decoded', async () => {
    const storage = new MemoryStorage();
    await new Queue('billing/v2', { storage }).send('x');
    const { base } = await start({ storage });
    const answer = await call(base, 'GET', '/api/queues/billing%2Fv2', { headers: AUTH });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ name: 'billing/v2', stats: expect.objectContaining({ ready: 1, sent: 1 }) });
  });

  it('GET /api/queues/:name/messages lists a state without leasing, absent fields as null', async () => {
    const { base, storage } = await start();
    const dead = await call(base, 'GET', '/api/queues/orders.dlq/messages', { headers: AUTH });
    expect(dead.status).toBe(200);
    expect(dead.json.messages.map((m: { body: unknown }) => m.body)).toEqual([{ n: 1 }, { n: 2 }]);
    const first = dead.json.messages[0];
    expect(Object.keys(first).sort()).toEqual(['attempt', 'availableAt', 'body', 'correlationId', 'enqueuedAt', 'group', 'headers', 'id', 'leaseUntil', 'priority', 'state'].sort());
    expect(first).toMatchObject({ state: 'ready', correlationId: null, group: null, leaseUntil: null });
    expect(first.headers).toMatchObject({ 'x-original-queue': 'orders', 'x-dead-reason': 'max-attempts' });
    const delayed = await call(base, 'GET', '/api/queues/orders/messages?state=delayed', { headers: AUTH });
    expect(delayed.json.messages.map((m: { body: unknown }) => m.body)).toEqual([{ n: 5 }]);
    const limited = await call(base, 'GET', '/api/queues/orders/messages?max=1', { headers: AUTH });
    expect(limited.json.messages.map((m: { body: unknown; headers: object }) => [m.body, m.headers])).toEqual([[{ n: 3 }, { trace: 'abc' }]]);
    expect((await new Queue('orders', { storage }).stats()).inflight).toBe(0);
  });

  it('names the argument of a bad query or queue name with 400', async () => {
    const { base } = await start();
    const badState = await call(base, 'GET', '/api/queues/orders/messages?state=dead', { headers: AUTH });
    expect(badState.status).toBe(400);
    expect(badState.json.error.code).toBe('ERR_INVALID_ARGUMENT');
    expect(badState.json.error.message).toContain('`state`');
    for (const max of ['0', '1001', 'ten', '1.5']) {
      const answer = await call(base, 'GET', `/api/queues/orders/messages?max=${max}`, { headers: AUTH });
      expect(answer.status, max).toBe(400);
      expect(answer.json.error.message, max).toContain('`max` to be an integer from 1 to 1000');
    }
    const badName = await call(base, 'GET', '/api/queues/..%2Fetc', { headers: AUTH });
    expect(badName.status).toBe(400);
    expect(badName.json.error.message).toContain('`queue`');
    const badEncoding = await call(base, 'GET', '/api/queues/%E0%A4%A', { headers: AUTH });
    expect(badEncoding.status).toBe(400);
  });

  it('POST redrive moves dead letters back; bad options are 400 and move nothing', async () => {
    const { base, storage } = await start();
    const bad = await call(base, 'POST', '/api/queues/orders.dlq/redrive', { headers: JSON_AUTH, body: '{"max":0}' });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain('options.max');
    const notJson = await call(base, 'POST', '/api/queues/orders.dlq/redrive', { headers: JSON_AUTH, body: '{max' });
    expect(notJson.status).toBe(400);
    expect(notJson.json.error.message).toContain('`body` to be JSON');
    const one = await call(base, 'POST', '/api/queues/orders.dlq/redrive', { headers: JSON_AUTH, body: '{"max":1}' });
    expect(one.json).toEqual({ moved: 1 });
    const rest = await call(base, 'POST', '/api/queues/orders.dlq/redrive', { headers: JSON_AUTH });
    expect(rest.json).toEqual({ moved: 1 });
    expect((await new Queue('orders.dlq', { storage }).stats()).ready).toBe(0);
    expect((await new Queue('orders', { storage }).stats()).ready).toBe(4);
  });

  it('POST purge and DELETE a message', async () => {
    const { base, storage } = await start();
    const [message] = await new Queue('orders.dlq', { storage }).peek();
    const removed = await call(base, 'DELETE', `/api/queues/orders.dlq/messages/${encodeURIComponent(message!.id)}`, { headers: JSON_AUTH });
    expect(removed.json).toEqual({ removed: true });
    const again = await call(base, 'DELETE', `/api/queues/orders.dlq/messages/${encodeURIComponent(message!.id)}`, { headers: JSON_AUTH });
    expect(again.json).toEqual({ removed: false });
    const purged = await call(base, 'POST', '/api/queues/orders/purge', { headers: JSON_AUTH });
    expect(purged.json).toEqual({ purged: 3 });
    expect((await new Queue('orders', { storage }).stats())).toMatchObject({ ready: 0, delayed: 0 });
  });

  it('answers 404 for an unknown route and 405 with allow for a wrong method', async () => {
    const { base } = await start();
    const missing = await call(base, 'GET', '/api/nothing', { headers: AUTH });
    expect([missing.status, missing.json.error.code]).toEqual([404, 'ERR_NOT_FOUND']);
    const wrong = await call(base, 'GET', '/api/queues/orders/purge', { headers: AUTH });
    expect([wrong.status, wrong.json.error.code, wrong.headers.allow]).toEqual([405, 'ERR_METHOD_NOT_ALLOWED', 'POST']);
    const page = await call(base, 'GET', '/elsewhere');
    expect(page.status).toBe(404);
  });

  it('answers 501 ERR_UNSUPPORTED on a storage without queues()', async () => {
    const storage = new MemoryStorage();
    Object.defineProperty(storage, 'queues', { value: undefined });
    const { base } = await start({ storage });
    const answer = await call(base, 'GET', '/api/queues', { headers: AUTH });
    expect([answer.status, answer.json.error.code]).toEqual([501, 'ERR_UNSUPPORTED']);
  });

  it('GET /api/events streams the queues at once and then every interval', async () => {
    const { base, storage } = await start({ interval: 50 });
    const response = await fetch(`${base}/api/events`, { headers: AUTH });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    const events: { event: string; data: any }[] = [];
    let buffer = '';
    let sent = false;
    while (events.length < 2 || events.at(-1)!.data.queues[0].stats.ready !== 3) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const [event, data] = buffer.slice(0, end).split('\n').map((line) => line.slice(line.indexOf(':') + 1).trim());
        events.push({ event: event!, data: JSON.parse(data!) });
        buffer = buffer.slice(end + 2);
      }
      if (events.length > 0 && !sent) {
        sent = true;
        await new Queue('orders', { storage }).send({ n: 6 });
      }
    }
    await reader.cancel();
    expect(events[0]!.event).toBe('queues');
    expect(events[0]!.data.queues[0]).toMatchObject({ name: 'orders', stats: { ready: 2 } });
    expect(events.at(-1)!.data.queues[0]).toMatchObject({ name: 'orders', stats: { ready: 3 } });
  });
});

describe('dashboard security', () => {
  it('with a token: an API request without it, or with another, is 401; the page is served without it', async () => {
    const { base } = await start();
    const none = await call(base, 'GET', '/api/queues');
    expect([none.status, none.json.error.code]).toEqual([401, 'ERR_UNAUTHORIZED']);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    const wrong = await call(base, 'GET', '/api/queues', { headers: { authorization: 'Bearer s3cret-tokem' } });
    expect(wrong.status).toBe(401);
    const change = await call(base, 'POST', '/api/queues/orders/purge', { headers: { 'content-type': 'application/json' } });
    expect(change.status).toBe(401);
    const page = await call(base, 'GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
  });

  it('with a token, a change with it succeeds; sent as a cookie it is refused', async () => {
    const { base } = await start();
    const cookie = await call(base, 'POST', '/api/queues/orders/purge', { headers: { 'content-type': 'application/json', cookie: `token=${TOKEN}` } });
    expect(cookie.status).toBe(401);
    const ok = await call(base, 'POST', '/api/queues/orders/purge', { headers: JSON_AUTH });
    expect([ok.status, ok.json]).toEqual([200, { purged: 3 }]);
  });

  it('refuses a cross-site form POST (no JSON content type) with 415, changing nothing', async () => {
    const { base, storage } = await start();
    const form = await call(base, 'POST', '/api/queues/orders/purge', { headers: { ...AUTH, 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' });
    expect([form.status, form.json.error.code]).toEqual([415, 'ERR_UNSUPPORTED_MEDIA_TYPE']);
    const plain = await call(base, 'POST', '/api/queues/orders/purge', { headers: { ...AUTH, 'content-type': 'text/plain' } });
    expect(plain.status).toBe(415);
    const [message] = await new Queue('orders', { storage }).peek();
    const untyped = await call(base, 'DELETE', `/api/queues/orders/messages/${message!.id}`, { headers: AUTH });
    expect(untyped.status).toBe(415);
    expect((await new Queue('orders', { storage }).stats()).ready).toBe(2);
  });

  it('without a token: reads from loopback work, every change is 403 ERR_READ_ONLY', async () => {
    const { base, storage } = await start({ token: undefined });
    const read = await call(base, 'GET', '/api/queues');
    expect([read.status, read.json.readOnly]).toEqual([200, true]);
    for (const [method, path] of [
      ['POST', '/api/queues/orders/purge'],
      ['POST', '/api/queues/orders.dlq/redrive'],
      ['DELETE', '/api/queues/orders/messages/x'],
    ] as const) {
      const answer = await call(base, method, path, { headers: { 'content-type': 'application/json' } });
      expect([answer.status, answer.json.error.code], path).toEqual([403, 'ERR_READ_ONLY']);
    }
    expect((await new Queue('orders', { storage }).stats()).ready).toBe(2);
  });

  it('without a token: a non-loopback client or Host is 403 ERR_FORBIDDEN, page included', async () => {
    const storage = await fixture();
    const handler = dashboard({ storage });
    const base = await serve((req, res) => {
      if (req.headers['x-test-remote']) Object.defineProperty(req.socket, 'remoteAddress', { value: req.headers['x-test-remote'], configurable: true });
      handler(req, res);
    });
    for (const remote of ['203.0.113.7', '::ffff:10.0.0.2', 'fe80::1']) {
      for (const path of ['/api/queues', '/']) {
        const answer = await call(base, 'GET', path, { headers: { 'x-test-remote': remote } });
        expect([answer.status, answer.json.error.code], `${remote} ${path}`).toEqual([403, 'ERR_FORBIDDEN']);
      }
    }
    const rebound = await call(base, 'GET', '/api/queues', { headers: { host: 'evil.example:4000' } });
    expect(rebound.status).toBe(403);
    for (const host of ['localhost:4000', '127.0.0.1', '[::1]:4000']) {
      expect((await call(base, 'GET', '/api/queues', { headers: { host, 'x-test-remote': '::ffff:127.0.0.1' } })).status, host).toBe(200);
    }
  });

  it('readOnly: true refuses a change even with the token', async () => {
    const { base } = await start({ readOnly: true });
    const answer = await call(base, 'POST', '/api/queues/orders/purge', { headers: JSON_AUTH });
    expect([answer.status, answer.json.error.code]).toEqual([403, 'ERR_READ_ONLY']);
    expect((await call(base, 'GET', '/api/queues', { headers: AUTH })).json.readOnly).toBe(true);
  });
});

describe('dashboard mounting and options', () => {
  it('serves under basePath, redirects it to its trailing slash, and passes other paths to next()', async () => {
    const storage = await fixture();
    const handler = dashboard({ storage, token: TOKEN, basePath: '/ops/queues' });
    const passed: string[] = [];
    const base = await serve((req, res) =>
      handler(req, res, () => {
        passed.push(req.url!);
        res.end('app');
      }),
    );
    expect((await call(base, 'GET', '/ops/queues/api/queues', { headers: AUTH })).json.queues).toHaveLength(2);
    const redirect = await call(base, 'GET', '/ops/queues?x=1');
    expect([redirect.status, redirect.headers.location]).toEqual([308, '/ops/queues/?x=1']);
    const page = await call(base, 'GET', '/ops/queues/');
    expect(page.text).toContain('<script src="assets/app.js" defer></script>');
    const script = await call(base, 'GET', '/ops/queues/assets/app.js');
    expect([script.status, script.headers['content-type']]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect((await call(base, 'GET', '/ops/queues/assets/app.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await call(base, 'GET', '/ops/queuesx')).text).toBe('app');
    expect((await call(base, 'GET', '/home')).text).toBe('app');
    expect(passed).toEqual(['/ops/queuesx', '/home']);
  });

  it('behind a framework that strips the mount path (express), redirects by originalUrl and uses a parsed body', async () => {
    const storage = await fixture();
    const handler = dashboard({ storage, token: TOKEN });
    const base = await serve(async (req, res) => {
      if (!req.url!.startsWith('/queues')) return void res.end('app');
      const originalUrl = req.url!;
      Object.assign(req, { originalUrl, url: req.url!.slice('/queues'.length) || '/' });
      if (req.method === 'POST') {
        let text = '';
        for await (const chunk of req) text += chunk;
        Object.assign(req, { body: JSON.parse(text) });
      }
      handler(req, res, () => res.end('next'));
    });
    const redirect = await call(base, 'GET', '/queues');
    expect([redirect.status, redirect.headers.location]).toEqual([308, '/queues/']);
    expect((await call(base, 'GET', '/queues/')).status).toBe(200);
    const moved = await call(base, 'POST', '/queues/api/queues/orders.dlq/redrive', { headers: JSON_AUTH, body: '{"max":1}' });
    expect(moved.json).toEqual({ moved: 1 });
  });

  it('gzips the page for a client that accepts it', async () => {
    const { base } = await start();
    const answer = await call(base, 'GET', '/assets/app.js', { headers: { 'accept-encoding': 'gzip, br' } });
    expect(answer.headers['content-encoding']).toBe('gzip');
  });

  it('names the option that is wrong', () => {
    const storage = new MemoryStorage();
    expect(() => dashboard(undefined as never)).toThrow(/`options`/);
    expect(() => dashboard({} as never)).toThrow(/`options.storage` to be a Storage/);
    expect(() => dashboard({ storage: {} as never })).toThrow(/`options.storage` to be a Storage/);
    expect(() => dashboard({ storage, token: '' })).toThrow(/`options.token` to be a non-empty string/);
    expect(() => dashboard({ storage, readOnly: 'yes' as never })).toThrow(/`options.readOnly` to be a boolean/);
    for (const basePath of ['queues', '/queues/', '/a b', '/']) {
      expect(() => dashboard({ storage, basePath }), basePath).toThrow(/`options.basePath`/);
    }
    expect(() => dashboard({ storage, interval: 10 })).toThrow(/`options.interval`/);
    expect(() => dashboard({ storage, tokn: 'x' } as never)).toThrow(/Unknown option `options.tokn`/);
    expect(() => dashboard({ storage, token: 'x', readOnly: true, basePath: '/q', interval: 500 })).not.toThrow();
  });
});
