import { setTimeout as sleep } from 'node:timers/promises';
import type { QueueStats } from '../../engine/types.js';
import { integerOption, queueArgument } from '../arguments.js';
import type { Command, CommandContext } from '../command.js';
import { json, table } from '../output.js';

const FIELDS: readonly (keyof QueueStats)[] = ['ready', 'delayed', 'inflight', 'sent', 'delivered', 'acked', 'retried', 'deadLettered', 'expired'];

export const stats: Command = {
  name: 'stats',
  summary: "Show a queue's counts, once or live (--watch)",
  usage: '<queue> [--watch] [--interval MS]',
  description:
    'Prints the messages ready, delayed and in flight and the counters since the queue began. With --watch, prints one line (one JSON document with --json) every interval until stopped with Ctrl-C; on --file it reads the directory read-only, so the app that owns it can start meanwhile.',
  options: {
    watch: { type: 'boolean', short: 'w', help: 'Keep printing, every --interval, until stopped.' },
    interval: { type: 'string', value: 'MS', help: 'Milliseconds between two --watch lines (100-3600000). Default 1000.' },
  },
  examples: ['pocketmq stats orders --file ./queues', 'pocketmq stats orders --watch --interval 500 --redis redis://localhost:6379'],
  async run(context) {
    const queue = queueArgument(context, 'stats');
    const interval = integerOption(context, 'interval', 100, 3_600_000, 1_000);
    if (context.values.watch === true) return watch(context, queue, interval);
    const s = await (await context.inspect()).stats(queue);
    context.streams.stdout.write(context.json ? json({ name: queue, stats: s }) : table(['QUEUE', queue], FIELDS.map((field) => [field, s[field]])));
  },
};

async function watch(context: CommandContext, queue: string, interval: number): Promise<void> {
  const stop = context.stopSignal();
  // A held directory is only read when opened: read it anew for every line.
  const reopen = context.place.file !== undefined;
  const inspector = reopen ? undefined : await context.inspect();
  while (!stop.aborted) {
    const current = inspector ?? (await context.inspect({ readOnly: true }));
    const s = await current.stats(queue);
    if (reopen) await current.close();
    const at = new Date().toISOString();
    context.streams.stdout.write(
      context.json ? json({ name: queue, at, stats: s }) : `${at}  ${FIELDS.map((field) => `${field} ${s[field]}`).join('  ')}\n`,
    );
    await sleep(interval, undefined, { signal: stop }).catch(() => undefined);
  }
}
