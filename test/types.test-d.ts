import { describe, expectTypeOf, it } from 'vitest';
import {
  type BackoffOptions,
  type ConsumeOptions,
  Consumer,
  type Handler,
  type HandlerContext,
  MemoryStorage,
  Message,
  type MessageInfo,
  type NackOptions,
  type PeekedMessage,
  Queue,
  type QueueEvents,
  type QueueOptions,
  type QueueStats,
  type ReceiveOptions,
  type SendOptions,
  type StopOptions,
} from '../src/index.js';
import { TestClock } from '../src/testing.js';

interface Order {
  id: number;
  sku: string;
}

const orders = new Queue<Order>('orders', { storage: new MemoryStorage({ clock: new TestClock() }) });

describe('Queue<T> types', () => {
  it('send() takes a T and resolves with the id', () => {
    expectTypeOf(orders.send).parameter(0).toEqualTypeOf<Order>();
    expectTypeOf(orders.send({ id: 1, sku: 'a' })).toEqualTypeOf<Promise<string>>();
    // @ts-expect-error a body that is not an Order
    void orders.send({ id: 'one' });
  });

  it('sendBatch() takes { body: T, options? } items and resolves with ids', () => {
    expectTypeOf(orders.sendBatch([{ body: { id: 1, sku: 'a' }, options: { delay: 5 } }])).toEqualTypeOf<Promise<string[]>>();
    // @ts-expect-error an item without a body
    void orders.sendBatch([{ options: {} }]);
  });

  it('receive() resolves with Message<T>[] whose body is a T', () => {
    expectTypeOf(orders.receive()).toEqualTypeOf<Promise<Message<Order>[]>>();
    expectTypeOf<Message<Order>['body']>().toEqualTypeOf<Order>();
  });

  it('consume() takes a handler of Message<T> and returns a Consumer<T>', () => {
    expectTypeOf(orders.consume).parameter(0).toEqualTypeOf<Handler<Order>>();
    expectTypeOf(orders.consume(async (msg) => expectTypeOf(msg.body).toEqualTypeOf<Order>())).toEqualTypeOf<Consumer<Order>>();
    expectTypeOf<Consumer<Order>['stop']>().returns.toEqualTypeOf<Promise<void>>();
  });

  it('a handler gets a HandlerContext with an AbortSignal; handlers of one argument still fit', () => {
    expectTypeOf<Handler<Order>>().parameter(1).toEqualTypeOf<HandlerContext>();
    expectTypeOf<HandlerContext['signal']>().toEqualTypeOf<AbortSignal>();
    orders.consume(async (msg, { signal }) => {
      expectTypeOf(msg).toEqualTypeOf<Message<Order>>();
      expectTypeOf(signal).toEqualTypeOf<AbortSignal>();
    });
    orders.consume(async (msg) => void msg.body.sku);
  });

  it('consumer.stop() takes StopOptions; queue.ack() takes messages and resolves with booleans', () => {
    expectTypeOf<Consumer<Order>['stop']>().parameter(0).toEqualTypeOf<StopOptions | undefined>();
    expectTypeOf<StopOptions['abandon']>().toEqualTypeOf<boolean | undefined>();
    expectTypeOf(orders.ack).parameter(0).toEqualTypeOf<readonly Message<Order>[]>();
    expectTypeOf(orders.ack([])).toEqualTypeOf<Promise<boolean[]>>();
  });

  it('for await yields Message<T>', () => {
    expectTypeOf(orders[Symbol.asyncIterator]()).toEqualTypeOf<AsyncGenerator<Message<Order>, void, undefined>>();
  });

  it('peek() resolves with PeekedMessage<T>[] (a MessageInfo<T> with its state and times), stats() with QueueStats', () => {
    expectTypeOf(orders.peek()).toEqualTypeOf<Promise<PeekedMessage<Order>[]>>();
    expectTypeOf<PeekedMessage<Order>>().toMatchTypeOf<MessageInfo<Order>>();
    expectTypeOf(orders.redrive({ max: 10, to: 'orders' })).toEqualTypeOf<Promise<number>>();
    expectTypeOf(orders.remove('id')).toEqualTypeOf<Promise<boolean>>();
    expectTypeOf(orders.stats()).toEqualTypeOf<Promise<QueueStats>>();
    expectTypeOf<QueueStats>().toHaveProperty('ready').toEqualTypeOf<number>();
    expectTypeOf<QueueStats>().toHaveProperty('delayed').toEqualTypeOf<number>();
    expectTypeOf<QueueStats>().toHaveProperty('inflight').toEqualTypeOf<number>();
  });

  it('idle(), purge() and close() are async', () => {
    expectTypeOf(orders.idle()).toEqualTypeOf<Promise<void>>();
    expectTypeOf(orders.purge()).toEqualTypeOf<Promise<number>>();
    expectTypeOf(orders.close()).toEqualTypeOf<Promise<void>>();
  });

  it('a Queue without a type argument carries unknown bodies', () => {
    const anything = new Queue('any');
    expectTypeOf(anything.receive()).toEqualTypeOf<Promise<Message<unknown>[]>>();
  });
});

describe('Message types', () => {
  it('fields of the contract', () => {
    expectTypeOf<Message<Order>>().toMatchTypeOf<MessageInfo<Order>>();
    expectTypeOf<Message['id']>().toEqualTypeOf<string>();
    expectTypeOf<Message['attempt']>().toEqualTypeOf<number>();
    expectTypeOf<Message['enqueuedAt']>().toEqualTypeOf<number>();
    expectTypeOf<Message['headers']>().toEqualTypeOf<Readonly<Record<string, string>>>();
    expectTypeOf<Message['correlationId']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<Message['group']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<Message['subject']>().toEqualTypeOf<string | undefined>();
  });

  it('settling methods resolve with whether they took effect', () => {
    expectTypeOf<Message['ack']>().returns.toEqualTypeOf<Promise<boolean>>();
    expectTypeOf<Message['nack']>().parameters.toEqualTypeOf<[options?: NackOptions]>();
    expectTypeOf<Message['nack']>().returns.toEqualTypeOf<Promise<boolean>>();
    expectTypeOf<Message['deadLetter']>().parameters.toEqualTypeOf<[reason?: string]>();
    expectTypeOf<Message['extend']>().parameters.toEqualTypeOf<[ms: number]>();
  });
});

describe('event listener types', () => {
  it('each event has its documented arguments', () => {
    orders.on('sent', (msg) => expectTypeOf(msg).toEqualTypeOf<MessageInfo<Order>>());
    orders.on('delivered', (msg) => expectTypeOf(msg).toEqualTypeOf<Message<Order>>());
    orders.on('acked', (msg) => expectTypeOf(msg).toEqualTypeOf<Message<Order>>());
    orders.on('retry', (msg, error, delayMs) => {
      expectTypeOf(msg).toEqualTypeOf<Message<Order>>();
      expectTypeOf(error).toEqualTypeOf<unknown>();
      expectTypeOf(delayMs).toEqualTypeOf<number>();
    });
    orders.on('dead', (msg, reason) => {
      expectTypeOf(msg).toEqualTypeOf<MessageInfo<Order>>();
      expectTypeOf(reason).toEqualTypeOf<string>();
    });
    orders.on('expired', (msg) => expectTypeOf(msg).toEqualTypeOf<MessageInfo<Order>>());
    orders.on('error', (error) => expectTypeOf(error).toEqualTypeOf<Error>());
    expectTypeOf<Parameters<QueueEvents<Order>['retry']>>().toEqualTypeOf<[message: Message<Order>, error: unknown, delayMs: number]>();
  });

  it('a listener with the wrong arguments does not compile', () => {
    // @ts-expect-error 'dead' gives (message, reason), not a number
    orders.on('dead', (_msg, _reason: number) => {});
    // @ts-expect-error there is no 'finished' event
    orders.on('finished', () => {});
    // @ts-expect-error 'error' gives an Error, not a string
    orders.on('error', (_error: string) => {});
  });
});

describe('option types', () => {
  it('Queue options', () => {
    expectTypeOf<QueueOptions['deadLetter']>().toEqualTypeOf<string | false | undefined>();
    expectTypeOf<QueueOptions['overflow']>().toEqualTypeOf<'reject' | 'drop-oldest' | undefined>();
    expectTypeOf<BackoffOptions['jitter']>().toEqualTypeOf<'full' | 'equal' | 'none' | undefined>();
    expectTypeOf<{ backoff: (attempt: number, error: unknown) => number }>().toMatchTypeOf<QueueOptions>();
    // @ts-expect-error overflow is 'reject' or 'drop-oldest'
    void new Queue('q', { overflow: 'drop-newest' });
  });

  it('send, consume and receive options', () => {
    expectTypeOf<SendOptions['headers']>().toEqualTypeOf<Record<string, string> | undefined>();
    expectTypeOf<SendOptions['priority']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<ConsumeOptions['signal']>().toEqualTypeOf<AbortSignal | undefined>();
    expectTypeOf<ConsumeOptions['rateLimit']>().toEqualTypeOf<{ max: number; interval: number } | undefined>();
    expectTypeOf<ReceiveOptions>().toEqualTypeOf<{ max?: number; wait?: number; signal?: AbortSignal }>();
    // @ts-expect-error header values are strings
    void orders.send({ id: 1, sku: 'a' }, { headers: { n: 1 } });
  });
});
