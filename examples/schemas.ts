/**
 * Schema-checked messages: a signups queue with a zod schema. An invalid send is
 * refused with nothing stored; a message written without the schema (an older
 * producer, another service) is dead-lettered as 'invalid' instead of reaching the
 * handler; and the handler gets the schema's output: a trimmed, lower-cased email and
 * a real Date, while the queue stores the JSON that was sent.
 *
 * Run it: npx tsx examples/schemas.ts
 */
import { z } from 'zod';
import { DEAD_LETTER_HEADERS, MemoryStorage, Queue, ValidationError } from '../src/index.js';
import { type ExampleOptions, isMain } from './run-main.js';

const Signup = z.object({
  email: z.string().trim().toLowerCase().pipe(z.email()),
  plan: z.enum(['free', 'pro']),
  signedUpAt: z.iso.datetime().transform((text) => new Date(text)),
});

export interface SchemasResult {
  /** What the handler got, with the Date turned back into its ISO text for comparison. */
  welcomed: { email: string; plan: string; signedUpAt: string }[];
  /** The issues of the send that was refused, as `path: message`. */
  refused: string[];
  /** What the dead-letter queue holds: the stored body and its x-dead-reason. */
  dead: { body: unknown; reason: string | undefined }[];
}

export async function main({ storage = new MemoryStorage(), log = () => {} }: ExampleOptions = {}): Promise<SchemasResult> {
  const result: SchemasResult = { welcomed: [], refused: [], dead: [] };
  // The body types come from the schema: send() takes its input, handlers get its output.
  const signups = new Queue('signups', { storage, schema: Signup });
  signups.on('error', (error) => log(`error event: ${error.message}`));

  await signups.send({ email: '  Ada@Example.com ', plan: 'pro', signedUpAt: '2026-11-27T09:30:00Z' });
  try {
    await signups.send({ email: 'not-an-email', plan: 'gold' as 'pro', signedUpAt: 'yesterday' });
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    result.refused = error.issues.map((issue) => `${(issue.path ?? []).join('.')}: ${issue.message}`);
    log(`refused: ${error.message}`);
  }
  // A producer that predates the schema writes to the same queue.
  await new Queue<unknown>('signups', { storage }).send({ email: 'grace@example.com' });

  const consumer = signups.consume(async (msg) => {
    const { email, plan, signedUpAt } = msg.body; // signedUpAt is a Date here
    result.welcomed.push({ email, plan, signedUpAt: signedUpAt.toISOString() });
    log(`welcome ${email} (${plan}), signed up ${signedUpAt.toUTCString()}`);
  });
  await signups.idle();
  await consumer.stop();

  const dlq = new Queue('signups.dlq', { storage });
  result.dead = (await dlq.peek()).map((m) => ({ body: m.body, reason: m.headers[DEAD_LETTER_HEADERS.reason] }));
  for (const { body, reason } of result.dead) log(`dead-lettered (${reason}): ${JSON.stringify(body)}`);
  await Promise.all([signups.close(), dlq.close()]);
  return result;
}

if (isMain(import.meta.url)) {
  const { welcomed, dead } = await main({ log: console.log });
  console.log(`${welcomed.length} welcomed, ${dead.length} dead-lettered`);
}
