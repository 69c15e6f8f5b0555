/** Reading a command's arguments: one message shape for every mistake, naming the argument. */
import type { MessageState } from '../storage/storage.js';
import type { CommandContext } from './command.js';
import { usageError } from './exit-codes.js';

/** The command's one `<queue>` argument. */
export function queueArgument(context: CommandContext, command: string): string {
  const { args } = context;
  if (args.length === 0) throw usageError('<queue>', `expected a queue name: pocketmq ${command} <queue>`);
  if (args.length > 1) throw usageError('<queue>', `expected one queue name, got ${args.length}: ${args.map((a) => `"${a}"`).join(' ')}`);
  return args[0]!;
}

/** The command takes no positional argument. */
export function noArguments(context: CommandContext, command: string): void {
  if (context.args.length > 0) throw usageError(`pocketmq ${command}`, `takes no argument, got "${context.args[0]}"`);
}

/** An integer option between `min` and `max`, or `fallback` when it is not given. */
export function integerOption<F extends number | undefined>(context: CommandContext, name: string, min: number, max: number, fallback: F): number | F {
  const raw = context.values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== 'string' || !/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw usageError(`--${name}`, `expected an integer from ${min} to ${max}, got "${String(raw)}"`);
  }
  return value;
}

const STATES: readonly MessageState[] = ['ready', 'delayed', 'inflight'];

export function stateOption(context: CommandContext): MessageState {
  const raw = context.values.state;
  if (raw === undefined) return 'ready';
  if (!STATES.includes(raw as MessageState)) throw usageError('--state', `expected ready, delayed or inflight, got "${String(raw)}"`);
  return raw as MessageState;
}

export function stringOption(context: CommandContext, name: string): string | undefined {
  const raw = context.values[name];
  return typeof raw === 'string' ? raw : undefined;
}
