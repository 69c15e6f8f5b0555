import { integerOption, queueArgument, stringOption } from '../arguments.js';
import type { Command } from '../command.js';
import { json } from '../output.js';

export const redrive: Command = {
  name: 'redrive',
  summary: 'Send dead letters back to their queue',
  usage: '<queue> [--to QUEUE] [--max N]',
  description:
    "Moves the ready messages of a dead-letter queue, in order, each back to the queue named by its x-original-queue header (or to --to), atomically per message. A moved message starts again at attempt 1, without its x-dead-* headers. Messages with no origin stay unless --to is given.",
  options: {
    to: { type: 'string', value: 'QUEUE', help: 'Move every message to this queue instead of its origin.' },
    max: { type: 'string', value: 'N', help: 'Move at most N messages. Default: all.' },
  },
  examples: ['pocketmq redrive orders.dlq --file ./queues', 'pocketmq redrive orders.dlq --to orders.retry --max 100 --redis redis://localhost:6379'],
  async run(context) {
    const queue = queueArgument(context, 'redrive');
    const max = integerOption(context, 'max', 1, Number.MAX_SAFE_INTEGER, undefined);
    const to = stringOption(context, 'to');
    const moved = await (await context.inspect()).redrive(queue, { ...(max === undefined ? {} : { max }), ...(to === undefined ? {} : { to }) });
    context.streams.stdout.write(context.json ? json({ moved }) : `Moved ${moved} message${moved === 1 ? '' : 's'} out of ${queue}${to === undefined ? '' : ` to ${to}`}.\n`);
  },
};
