/**
 * An order flow: placing an order sends work to the payment, inventory and
 * notification queues, and publishes an order event that fans out to billing,
 * shipping and analytics subscriptions, each with its own queue and retries.
 *
 * Run it: npx tsx examples/order-processing.ts
 */
import { MemoryStorage, Queue, Topic } from '../src/index.js';
import { type ExampleOptions, isMain } from './run-main.js';

interface OrderItem {
  sku: string;
  quantity: number;
}

interface Order {
  id: string;
  customerId: string;
  customerEmail: string;
  total: number;
  items: OrderItem[];
  shippingAddress: string;
}

/** What the order event carries to every subscriber. */
type OrderEvent = Pick<Order, 'id' | 'customerId' | 'total' | 'items' | 'shippingAddress'>;

export interface OrderFlowResult {
  /** Order ids charged, in order of success. */
  charged: string[];
  /** Payment attempts that failed and were retried. */
  paymentRetries: number;
  /** Reserved quantity per SKU. */
  reserved: Record<string, number>;
  /** Confirmation emails sent. */
  emails: string[];
  invoices: { orderId: string; amount: number }[];
  shipments: { orderId: string; address: string }[];
  /** Revenue tracked by analytics. */
  revenue: number;
}

const ORDERS: Order[] = [
  { id: 'o-1', customerId: 'c-1', customerEmail: 'ada@example.com', total: 40, items: [{ sku: 'mug', quantity: 2 }], shippingAddress: '1 Main St' },
  { id: 'o-2', customerId: 'c-2', customerEmail: 'bob@example.com', total: 25, items: [{ sku: 'tea', quantity: 5 }], shippingAddress: '2 Side St' },
  { id: 'o-3', customerId: 'c-1', customerEmail: 'ada@example.com', total: 60, items: [{ sku: 'mug', quantity: 1 }, { sku: 'pot', quantity: 1 }], shippingAddress: '1 Main St' },
];

export async function main({ storage = new MemoryStorage(), log = () => {} }: ExampleOptions = {}): Promise<OrderFlowResult> {
  const result: OrderFlowResult = { charged: [], paymentRetries: 0, reserved: {}, emails: [], invoices: [], shipments: [], revenue: 0 };
  const retry = { maxAttempts: 3, backoff: { initial: 100, factor: 2, jitter: 'none' as const } };

  // Point-to-point work for the order itself.
  const payments = new Queue<{ orderId: string; amount: number; customerId: string }>('payment-queue', { storage, ...retry });
  const inventory = new Queue<{ orderId: string; items: OrderItem[] }>('inventory-queue', { storage, ...retry });
  const notifications = new Queue<{ orderId: string; customerEmail: string }>('notification-queue', { storage, ...retry });

  // Fan-out: every subscription gets its own copy of each order event.
  const orderEvents = new Topic<OrderEvent>('order-events', { storage });

  let gatewayHiccup = true;
  const workers = [
    payments.consume(async ({ body, attempt }) => {
      if (body.orderId === 'o-2' && gatewayHiccup) {
        gatewayHiccup = false;
        throw new Error('payment gateway timed out');
      }
      result.charged.push(body.orderId);
      log(`payment: charged ${body.amount} for ${body.orderId} (attempt ${attempt})`);
    }),
    inventory.consume(async ({ body }) => {
      for (const { sku, quantity } of body.items) result.reserved[sku] = (result.reserved[sku] ?? 0) + quantity;
      log(`inventory: reserved items of ${body.orderId}`);
    }),
    notifications.consume(async ({ body }) => {
      result.emails.push(`${body.customerEmail}: order ${body.orderId} confirmed`);
      log(`notification: emailed ${body.customerEmail} about ${body.orderId}`);
    }),
  ];
  payments.on('retry', (msg, error, delayMs) => {
    result.paymentRetries++;
    log(`payment: ${msg.body.orderId} failed (${String((error as Error).message)}), retrying in ${delayMs} ms`);
  });

  const subscriptions = [
    orderEvents.subscribe(
      'billing',
      async ({ body }) => {
        result.invoices.push({ orderId: body.id, amount: body.total });
        log(`billing: invoice for ${body.id}`);
      },
      { filter: 'order.placed', ...retry },
    ),
    orderEvents.subscribe(
      'shipping',
      async ({ body }) => {
        result.shipments.push({ orderId: body.id, address: body.shippingAddress });
        log(`shipping: shipment for ${body.id} to ${body.shippingAddress}`);
      },
      { filter: 'order.placed', ...retry },
    ),
    orderEvents.subscribe(
      'analytics',
      async ({ body, subject }) => {
        result.revenue += body.total;
        log(`analytics: ${subject} ${body.id} (+${body.total})`);
      },
      { filter: 'order.#' },
    ),
  ];

  async function placeOrder(order: Order): Promise<{ orderId: string; status: 'processing' }> {
    await payments.send({ orderId: order.id, amount: order.total, customerId: order.customerId }, { dedupeId: `pay-${order.id}` });
    await inventory.send({ orderId: order.id, items: order.items });
    await notifications.send({ orderId: order.id, customerEmail: order.customerEmail });
    const { id, customerId, total, items, shippingAddress } = order;
    await orderEvents.publish({ id, customerId, total, items, shippingAddress }, { subject: 'order.placed', correlationId: order.id });
    return { orderId: order.id, status: 'processing' };
  }

  for (const order of ORDERS) log(`placed ${JSON.stringify(await placeOrder(order))}`);

  // Wait until every queue and subscription has nothing left to do, then stop.
  await Promise.all([payments, inventory, notifications, ...subscriptions.map((s) => s.queue!)].map((q) => q.idle()));
  await Promise.all([...workers.map((w) => w.stop()), orderEvents.close()]);
  return result;
}

if (isMain(import.meta.url)) {
  const result = await main({ log: console.log });
  console.log(JSON.stringify(result, null, 2));
}
