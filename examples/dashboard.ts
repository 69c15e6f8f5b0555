/**
 * An app with the dashboard mounted: an http server whose `/queues/` is pocketmq's page and
 * JSON API, next to the app's own routes. It sends five orders; one of them can never be
 * processed and is dead-lettered, ready to be inspected and redriven from the page.
 *
 * Run it: npx tsx examples/dashboard.ts, then open the URL it prints (port PORT or 4000;
 * the token is PMQ_TOKEN, or the one it prints). Stop it with Ctrl-C.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dashboard } from '../src/dashboard.js';
import { MemoryStorage, Queue } from '../src/index.js';
import { type ExampleOptions, isMain } from './run-main.js';

interface Order {
  id: string;
  sku: string;
}

export interface DashboardExampleResult {
  /** The dashboard's address. */
  url: string;
  /** What `GET /queues/api/queues` answered once the orders were handled. */
  queues: { name: string; stats: { ready: number; acked: number; deadLettered: number } }[];
  /** The status of the page itself. */
  pageStatus: number;
}

export async function main({ storage = new MemoryStorage(), log = () => {}, keepServing = false, port = 0 }: ExampleOptions & { keepServing?: boolean; port?: number } = {}): Promise<DashboardExampleResult> {
  const token = process.env.PMQ_TOKEN ?? randomBytes(16).toString('hex');
  const queues = dashboard({ storage, token, basePath: '/queues' });
  const server = createServer((req, res) => queues(req, res, () => res.end('the app itself\n')));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/queues/`;

  const orders = new Queue<Order>('orders', { storage, maxAttempts: 1 });
  const worker = orders.consume(async (message) => {
    if (message.body.sku === 'discontinued') throw new Error(`no stock will ever come for order ${message.body.id}`);
  });
  for (const [i, sku] of ['mug', 'tea', 'discontinued', 'pot', 'tea'].entries()) await orders.send({ id: `o-${i + 1}`, sku });
  await orders.idle();
  await worker.stop();

  const answer = await fetch(`${url}api/queues`, { headers: { authorization: `Bearer ${token}` } });
  const listed = (await answer.json()) as { queues: DashboardExampleResult['queues'] };
  const page = await fetch(url);
  for (const { name, stats } of listed.queues) log(`${name}: ${stats.ready} ready, ${stats.acked} acked, ${stats.deadLettered} dead-lettered`);
  log(`dashboard: ${url}  token: ${token}`);

  if (!keepServing) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await orders.close();
  }
  return { url, queues: listed.queues, pageStatus: page.status };
}

if (isMain(import.meta.url)) {
  await main({ log: console.log, keepServing: true, port: Number(process.env.PORT ?? 4000) });
}
