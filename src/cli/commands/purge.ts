import { queueArgument } from '../arguments.js';
import type { Command } from '../command.js';
import { usageError } from '../exit-codes.js';
import { json } from '../output.js';

export const purge: Command = {
  name: 'purge',
  summary: 'Delete every waiting message of a queue (needs --yes)',
  usage: '<queue> --yes',
  description:
    'Deletes every ready and delayed message of the queue; messages in flight are left to their consumers. There is no undo, so it does nothing without --yes (exit code 2).',
  options: {
    yes: { type: 'boolean', short: 'y', help: 'Confirm: really delete the messages.' },
  },
  examples: ['pocketmq purge orders.dlq --yes --file ./queues'],
  async run(context) {
    const queue = queueArgument(context, 'purge');
    if (context.values.yes !== true) throw usageError('--yes', `purge deletes every waiting message of ${queue} for good; add --yes to confirm (nothing was deleted)`);
    const purged = await (await context.inspect()).purge(queue);
    context.streams.stdout.write(context.json ? json({ purged }) : `Purged ${purged} message${purged === 1 ? '' : 's'} from ${queue}.\n`);
  },
};
