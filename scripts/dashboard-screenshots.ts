/**
 * Makes docs/dashboard-queues.png and docs/dashboard-messages.png: the dashboard over a
 * MemoryStorage holding a small shop's queues, in headless Chromium (Debian's package, or
 * CHROMIUM=...). Run: npx tsx scripts/dashboard-screenshots.ts
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { dashboard } from '../src/dashboard.js';
import { MemoryStorage, Queue } from '../src/index.js';
import { launchChromium } from '../test/helpers/chromium.js';

const docs = (name: string) => fileURLToPath(new URL(`../docs/${name}`, import.meta.url));

const storage = new MemoryStorage();
const orders = new Queue('orders', { storage, maxAttempts: 1, visibilityTimeout: 600_000 });
const emails = new Queue('emails', { storage, visibilityTimeout: 600_000 });
const invoices = new Queue('invoices', { storage });

for (let i = 1; i <= 40; i++) await orders.send({ orderId: `o-${1000 + i}`, sku: ['mug', 'tea', 'pot'][i % 3], quantity: (i % 4) + 1 });
const doomed = await orders.receive({ max: 3 });
await doomed[0]!.deadLetter('card declined: insufficient funds');
await doomed[1]!.nack(); // maxAttempts 1: dead-lettered as max-attempts
await doomed[2]!.deadLetter('address does not exist');
for (const message of await orders.receive({ max: 30 })) await message.ack();
await orders.receive({ max: 2 });
await orders.send({ orderId: 'o-2001', sku: 'tea', quantity: 2 }, { delay: 3_600_000 });
for (let i = 1; i <= 12; i++) await emails.send({ to: `customer${i}@example.com`, template: 'order-shipped' }, { headers: { 'x-request-id': `req-${i}` } });
for (const message of await emails.receive({ max: 9 })) await message.ack();
await emails.receive({ max: 1 });
for (let i = 1; i <= 5; i++) await invoices.send({ invoice: `INV-${i}`, amount: 20 * i }, { delay: 86_400_000 });

const token = 'screenshot-token';
const server = createServer(dashboard({ storage, token, interval: 250 }));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 560 }, deviceScaleFactor: 1, colorScheme: 'light' });
  await page.goto(base);
  await page.getByLabel('Dashboard token').fill(token);
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.locator('tr[data-queue="orders.dlq"]').waitFor();
  // Traffic for a few seconds, so the rates show.
  for (let i = 0; i < 30; i++) {
    await orders.send({ orderId: `o-3${i}`, sku: 'mug', quantity: 1 });
    if (i % 2 === 0) await emails.send({ to: `customer${i}@example.com`, template: 'welcome' });
    for (const message of await orders.receive({ max: 1 })) await message.ack();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await page.screenshot({ path: docs('dashboard-queues.png') });

  await page.setViewportSize({ width: 1100, height: 820 });
  await page.getByRole('button', { name: 'Browse messages of orders.dlq' }).click();
  await page.locator('article.message').first().waitFor();
  await page.mouse.move(0, 0);
  await page.screenshot({ path: docs('dashboard-messages.png') });
  console.log('wrote docs/dashboard-queues.png and docs/dashboard-messages.png');
} finally {
  await browser.close();
  server.closeAllConnections();
  server.close();
  await storage.close();
}
