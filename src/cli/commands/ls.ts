import { noArguments } from '../arguments.js';
import type { Command } from '../command.js';
import { json, table } from '../output.js';

export const ls: Command = {
  name: 'ls',
  summary: 'List the queues with their counts',
  usage: '',
  description: 'Lists every queue that holds messages or counters, sorted by name: messages ready, delayed and in flight, and the counters sent, acked and dead-lettered.',
  options: {},
  examples: ['pocketmq ls --file ./queues', 'pocketmq ls --redis redis://localhost:6379 --json'],
  async run(context) {
    noArguments(context, 'ls');
    const queues = await (await context.inspect()).queues();
    const out = context.streams.stdout;
    if (context.json) {
      out.write(json({ queues }));
      return;
    }
    if (queues.length === 0) {
      out.write('No queues.\n');
      return;
    }
    out.write(
      table(
        ['QUEUE', 'READY', 'DELAYED', 'INFLIGHT', 'SENT', 'ACKED', 'DEAD-LETTERED'],
        queues.map(({ name, stats: s }) => [name, s.ready, s.delayed, s.inflight, s.sent, s.acked, s.deadLettered]),
      ),
    );
  },
};
