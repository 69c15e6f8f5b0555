import { messageJson } from '../../dashboard/api.js';
import { integerOption, queueArgument, stateOption } from '../arguments.js';
import type { Command } from '../command.js';
import { clip, json, table } from '../output.js';

/** Most messages one peek lists: the library's own bound. */
const MAX_PEEK = 10_000;

const time = (ms: number) => new Date(ms).toISOString();

export const peek: Command = {
  name: 'peek',
  summary: 'Show the messages of a queue without taking them',
  usage: '<queue> [-n N] [--state ready|delayed|inflight]',
  description:
    'Lists messages of one state, first to be delivered first, without leasing them: body, headers (a dead letter shows its x-dead-* headers) and attempts. Bodies and headers are cut to fit a line; --json prints them whole.',
  options: {
    max: { type: 'string', short: 'n', value: 'N', help: `Most messages to list (1-${MAX_PEEK}). Default 20.` },
    state: { type: 'string', value: 'STATE', help: 'ready (default), delayed or inflight.' },
  },
  examples: ['pocketmq peek orders.dlq -n 5 --file ./queues', 'pocketmq peek orders --state delayed --json --redis redis://localhost:6379'],
  async run(context) {
    const queue = queueArgument(context, 'peek');
    const max = integerOption(context, 'max', 1, MAX_PEEK, 20);
    const state = stateOption(context);
    const messages = await (await context.inspect()).peek(queue, state, max);
    const out = context.streams.stdout;
    if (context.json) {
      out.write(json({ messages: messages.map(messageJson) }));
      return;
    }
    if (messages.length === 0) {
      out.write(`No ${state} messages in ${queue}.\n`);
      return;
    }
    const when = state === 'delayed' ? ['AVAILABLE'] : state === 'inflight' ? ['LEASE-UNTIL'] : [];
    out.write(
      table(
        ['ID', 'ATTEMPT', 'ENQUEUED', ...when, 'HEADERS', 'BODY'],
        messages.map((m) => [
          m.id,
          m.attempt,
          time(m.enqueuedAt),
          ...(state === 'delayed' ? [time(m.availableAt)] : state === 'inflight' ? [m.leaseUntil === undefined ? '' : time(m.leaseUntil)] : []),
          clip(
            Object.entries(m.headers)
              .map(([k, v]) => `${k}=${v}`)
              .join(' '),
            80,
          ),
          clip(JSON.stringify(m.body) ?? 'undefined', 60),
        ]),
      ),
    );
  },
};
