import * as v from 'valibot';
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { type Message, type MessageInfo, type PeekedMessage, Queue, RequestReply, type StandardSchemaV1, Topic, type QueueOptions } from '../src/index.js';

const Signup = z.object({ email: z.string(), age: z.number() });
const SignupV = v.object({ email: v.string(), age: v.number() });
const Stamped = z.object({ at: z.string().transform((s) => new Date(s)) });
const StampedV = v.object({ at: v.pipe(v.string(), v.transform((s) => new Date(s))) });

describe('body types inferred from a schema', () => {
  it('a zod schema gives the queue its body type', () => {
    const q = new Queue('signups', { schema: Signup });
    expectTypeOf(q).toEqualTypeOf<Queue<{ email: string; age: number }, { email: string; age: number }>>();
    expectTypeOf(q.send).parameter(0).toEqualTypeOf<{ email: string; age: number }>();
    q.consume(async (msg) => expectTypeOf(msg.body).toEqualTypeOf<{ email: string; age: number }>());
    // @ts-expect-error: age must be a number
    void q.send({ email: 'a', age: '1' });
  });

  it('a valibot schema gives the queue its body type', () => {
    const q = new Queue('signups', { schema: SignupV });
    expectTypeOf(q.send).parameter(0).toEqualTypeOf<{ email: string; age: number }>();
    q.consume(async (msg) => expectTypeOf(msg.body).toEqualTypeOf<{ email: string; age: number }>());
  });

  it('a transforming schema: send() takes the input, handlers get the output', () => {
    for (const schema of [Stamped, StampedV]) {
      const q = new Queue('stamps', { schema });
      expectTypeOf(q.send).parameter(0).toEqualTypeOf<{ at: string }>();
      expectTypeOf(q.sendBatch).parameter(0).toEqualTypeOf<readonly { body: { at: string }; options?: import('../src/index.js').SendOptions }[]>();
      q.consume(async (msg) => expectTypeOf(msg.body.at).toEqualTypeOf<Date>());
      expectTypeOf(q.receive).returns.resolves.toEqualTypeOf<Message<{ at: Date }>[]>();
      q.on('sent', (m) => expectTypeOf(m).toEqualTypeOf<MessageInfo<{ at: Date }>>());
      expectTypeOf(q.schedule).parameter(2).toEqualTypeOf<{ at: string }>();
      // peek() shows bodies as stored: what was sent.
      expectTypeOf(q.peek).returns.resolves.toEqualTypeOf<PeekedMessage<{ at: string }>[]>();
    }
  });

  it('a topic: publish() takes the input, durable and live subscribers get the output', () => {
    const t = new Topic('stamps', { schema: Stamped });
    expectTypeOf(t.publish).parameter(0).toEqualTypeOf<{ at: string }>();
    t.subscribe('audit', async (msg) => expectTypeOf(msg.body.at).toEqualTypeOf<Date>());
    t.subscribe((msg) => expectTypeOf(msg.body.at).toEqualTypeOf<Date>());
    // A subscription's own schema must produce the topic's body type.
    // @ts-expect-error: Signup's output is not { at: Date }
    t.subscribe('other', async () => {}, { schema: Signup });
  });

  it('request/reply: request and reply schemas type request(), the handler and the result', () => {
    const rpc = new RequestReply('price', { schema: z.object({ sku: z.string() }), replySchema: z.object({ cents: z.number() }).transform((r) => r.cents / 100) });
    expectTypeOf(rpc.request).parameter(0).toEqualTypeOf<{ sku: string }>();
    expectTypeOf(rpc.request).returns.resolves.toEqualTypeOf<number>();
    rpc.serve(async (req) => {
      expectTypeOf(req).toEqualTypeOf<{ sku: string }>();
      return { cents: 100 };
    });
    // @ts-expect-error: the handler returns the reply schema's input
    rpc.serve(async () => 1);
  });

  it('explicit type parameters and bare QueueOptions keep working', () => {
    const opts: QueueOptions = { maxAttempts: 2 };
    const q = new Queue<{ id: number }>('orders', opts);
    expectTypeOf(q.send).parameter(0).toEqualTypeOf<{ id: number }>();
    const plain = new Queue('any');
    expectTypeOf(plain).toEqualTypeOf<Queue<unknown, unknown>>();
    // @ts-expect-error: the schema's output must be the declared body type
    void new Queue<{ id: number }>('orders', { schema: Signup });
  });

  it('StandardSchemaV1 infers input and output', () => {
    expectTypeOf<StandardSchemaV1.InferInput<typeof Stamped>>().toEqualTypeOf<{ at: string }>();
    expectTypeOf<StandardSchemaV1.InferOutput<typeof Stamped>>().toEqualTypeOf<{ at: Date }>();
  });
});
