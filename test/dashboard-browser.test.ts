/**
 * The dashboard as a person uses it, in headless Chromium (Debian's package, driven by
 * playwright-core): the queue list's counts on every storage, updated live; the message
 * browser; redrive, remove and purge behind their confirmations; a body that carries a
 * script staying text; a change the server refuses, shown on the page. One browser for the file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DashboardOptions, dashboard } from '../src/dashboard.js';
import { FileStorage } from '../src/file.js';
import { MemoryStorage, Queue } from '../src/index.js';
import { RedisStorage } from '../src/redis.js';
import type { Storage } from '../src/storage/storage.js';
import { chromiumSkipReason, launchChromium } from './helpers/chromium.js';
import { redisSkipReason, useRedis, type RedisServer } from './helpers/redis-server.js';

const TOKEN = 'browser-test-token';
const XSS_BODY = '<script>window.__xss = 1</script><img src=x onerror="window.__xss=1">';

let browser: Browser;
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** orders: 2 ready, 1 delayed, 1 in flight; orders.dlq: 2 dead letters of orders. */
async function fill(storage: Storage): Promise<void> {
  const orders = new Queue('orders', { storage, maxAttempts: 1, visibilityTimeout: 600_000 });
  await orders.send({ order: 1 });
  await orders.send({ order: 2 });
  for (const message of await orders.receive({ max: 2 })) await message.deadLetter('out of stock');
  await orders.send({ order: 3 });
  await orders.send({ order: 4 });
  await orders.send({ order: 5 }, { delay: 600_000 });
  await orders.send({ order: 6 });
  const held = await orders.receive({ max: 1 });
  expect(held).toHaveLength(1);
  await orders.close();
}

async function serve(storage: Storage, options: Partial<DashboardOptions> = {}): Promise<string> {
  const server: Server = createServer(dashboard({ storage, token: TOKEN, interval: 100, ...options }) as RequestListener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

/** A fresh page (its own sessionStorage) that has given the token when the dashboard has one. */
async function openPage(base: string, token: string | null = TOKEN): Promise<Page> {
  const context = await browser.newContext();
  cleanups.push(() => context.close());
  const page = await context.newPage();
  await page.goto(base);
  if (token !== null) {
    await page.getByLabel('Dashboard token').fill(token);
    await page.getByRole('button', { name: 'Connect' }).click();
  }
  return page;
}

/** The cells of a queue's row, by column header. */
async function row(page: Page, name: string): Promise<Record<string, string>> {
  const tr = page.locator(`tr[data-queue="${name}"]`);
  await tr.waitFor();
  const headers = await page.locator('table.queues thead th').allTextContents();
  const cells = await tr.locator('th, td').allTextContents();
  return Object.fromEntries(headers.map((header, i) => [header, cells[i]!]));
}

const describeBrowser = describe.skipIf(chromiumSkipReason() !== undefined);

describeBrowser('dashboard in Chromium', () => {
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  let redis: RedisServer | undefined;
  afterAll(async () => {
    await redis?.close();
  });
  const storages: [string, () => Promise<Storage>][] = [
    ['MemoryStorage', async () => new MemoryStorage()],
    [
      'FileStorage',
      async () => {
        const dir = mkdtempSync(join(tmpdir(), 'pocketmq-dashboard-'));
        cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
        return new FileStorage({ dir });
      },
    ],
  ];
  if (redisSkipReason() === undefined) {
    storages.push([
      'RedisStorage',
      async () => {
        redis ??= await useRedis();
        return new RedisStorage({ url: redis.url, prefix: redis.prefix('dashboard') });
      },
    ]);
  }

  it.each(storages)('lists the queues of a %s with their counts, and updates them live', async (_, make) => {
    const storage = await make();
    cleanups.push(() => storage.close());
    await fill(storage);
    const page = await openPage(await serve(storage));
    await expect.poll(() => row(page, 'orders')).toMatchObject({ Queue: 'orders', Ready: '2', Delayed: '1', 'In flight': '1', Dead: '2' });
    expect(await row(page, 'orders.dlq')).toMatchObject({ Ready: '2', Delayed: '0', 'In flight': '0', Dead: '–' });
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 1));
    await new Queue('orders', { storage }).send({ order: 7 });
    await expect.poll(async () => (await row(page, 'orders')).Ready).toBe('3');
    // Live means no reload: the marker set on this document is still there.
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(1);
  });

  it('redrives the dead letters back to their queue after the confirmation, and not before', async () => {
    const storage = new MemoryStorage();
    await fill(storage);
    const page = await openPage(await serve(storage));
    await page.getByRole('button', { name: 'Redrive orders.dlq' }).click();
    const dialog = page.getByRole('dialog', { name: 'Redrive orders.dlq?' });
    await expect.poll(() => dialog.isVisible()).toBe(true);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect((await new Queue('orders.dlq', { storage }).stats()).ready).toBe(2);
    await page.getByRole('button', { name: 'Redrive orders.dlq' }).click();
    await dialog.getByRole('button', { name: 'Redrive' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('Redrove 2 messages from orders.dlq.');
    expect((await new Queue('orders.dlq', { storage }).stats()).ready).toBe(0);
    expect((await new Queue('orders', { storage }).stats()).ready).toBe(4);
    await expect.poll(async () => (await row(page, 'orders')).Ready).toBe('4');
  });

  it('browses a dead-letter queue with its x-dead-* headers, removes one message and purges the rest', async () => {
    const storage = new MemoryStorage();
    await fill(storage);
    const page = await openPage(await serve(storage));
    await page.getByRole('button', { name: 'Browse messages of orders.dlq' }).click();
    const messages = page.locator('article.message');
    await expect.poll(() => messages.count()).toBe(2);
    const first = messages.first();
    expect(await first.locator('pre.body').textContent()).toBe(JSON.stringify({ order: 1 }, null, 2));
    expect(await first.locator('dt.dead-header').allTextContents()).toEqual(['x-attempts', 'x-dead-at', 'x-dead-reason', 'x-original-queue']);
    expect(await first.locator('dd.dead-header').allTextContents()).toEqual(expect.arrayContaining(['out of stock', 'orders']));
    expect(page.url()).toContain('#queue=orders.dlq&state=ready');

    const id = (await first.getAttribute('data-message-id'))!;
    await first.getByRole('button', { name: `Remove message ${id}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe(`Removed message ${id}.`);
    await expect.poll(() => messages.count()).toBe(1);
    expect((await new Queue('orders.dlq', { storage }).peek()).map((m) => m.id)).not.toContain(id);

    await page.getByRole('button', { name: 'Purge', exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Purge' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('Purged 1 message from orders.dlq.');
    await expect.poll(() => messages.count()).toBe(0);
    expect((await new Queue('orders.dlq', { storage }).stats()).ready).toBe(0);
  });

  it('shows in-flight messages with their lease and no way to remove them', async () => {
    const storage = new MemoryStorage();
    await fill(storage);
    const page = await openPage(await serve(storage));
    await page.getByRole('button', { name: 'Browse messages of orders', exact: true }).click();
    await page.getByRole('button', { name: 'In flight' }).click();
    const message = page.locator('article.message');
    await expect.poll(() => message.count()).toBe(1);
    expect(await message.locator('dt').allTextContents()).toContain('Lease until');
    expect(await message.getByRole('button', { name: /Remove message/ }).isDisabled()).toBe(true);
  });

  it('shows a body and headers that carry a script as text: nothing runs', async () => {
    const storage = new MemoryStorage();
    await new Queue('inbox', { storage }).send(XSS_BODY, { headers: { note: XSS_BODY } });
    await new Queue('inbox', { storage }).send({ html: XSS_BODY });
    const page = await openPage(await serve(storage));
    await page.getByRole('button', { name: 'Browse messages of inbox' }).click();
    const bodies = page.locator('article.message pre.body');
    await expect.poll(() => bodies.count()).toBe(2);
    expect(await bodies.first().textContent()).toBe(XSS_BODY);
    expect(await bodies.nth(1).textContent()).toBe(JSON.stringify({ html: XSS_BODY }, null, 2));
    expect(await page.locator('article.message dd').filter({ hasText: '<script>' }).count()).toBe(1);
    expect(await page.locator('article.message script, article.message img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
  });

  it('without a token: the page says it is read-only and shows the refusal of a change', async () => {
    const storage = new MemoryStorage();
    await fill(storage);
    const page = await openPage(await serve(storage, { token: undefined }), null);
    await expect.poll(async () => (await row(page, 'orders')).Ready).toBe('2');
    expect(await page.getByText('Read-only: changes are refused').isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Purge orders', exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Purge' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/^Purge was refused: This dashboard is read-only.*\(ERR_READ_ONLY\)$/);
    expect((await new Queue('orders', { storage }).stats()).ready).toBe(2);
  });

  it('with a token: asks for it, says when it is wrong, and connects with the right one, opening a linked view', async () => {
    const storage = new MemoryStorage();
    await fill(storage);
    const page = await openPage(`${await serve(storage)}#queue=orders.dlq&state=ready`, 'not-the-token');
    await expect.poll(() => page.locator('#token-error').textContent()).toBe("The token is not this dashboard's");
    expect(await page.locator('tr[data-queue]').count()).toBe(0);
    await page.getByLabel('Dashboard token').fill(TOKEN);
    await page.getByRole('button', { name: 'Connect' }).click();
    await expect.poll(async () => (await row(page, 'orders')).Ready).toBe('2');
    expect(await page.getByText('Read-only: changes are refused').isVisible()).toBe(false);
    await expect.poll(() => page.locator('article.message').count()).toBe(2);
    expect(await page.getByRole('heading', { name: 'Messages in orders.dlq' }).isVisible()).toBe(true);
  });
});
