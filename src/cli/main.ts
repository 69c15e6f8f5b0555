/**
 * The `pocketmq` command: finds the command, parses its options strictly with
 * `node:util` `parseArgs`, runs it, and turns any error into one line on stderr and
 * an exit code (exit-codes.ts).
 */
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../errors.js';
import packageJson from '../../package.json' with { type: 'json' };
import type { Command, CommandContext, OptionSpec } from './command.js';
import { dashboard } from './commands/dashboard.js';
import { ls } from './commands/ls.js';
import { peek } from './commands/peek.js';
import { purge } from './commands/purge.js';
import { redrive } from './commands/redrive.js';
import { stats } from './commands/stats.js';
import { EXIT, exitCodeOf, usageError } from './exit-codes.js';
import { commandHelp, GLOBAL_OPTIONS, globalHelp } from './help.js';
import type { Inspector } from './inspector.js';
import { openInspector, openStorage, type Place } from './open-storage.js';
import type { Streams } from './output.js';

export const COMMANDS: readonly Command[] = [ls, peek, redrive, purge, stats, dashboard];

/** Runs the command line `argv` (without `node` and the script); resolves with the exit code. */
export async function main(argv: readonly string[], streams: Streams, env: NodeJS.ProcessEnv): Promise<number> {
  const closers = new Set<() => Promise<void>>();
  let stop: AbortController | undefined;
  const signals = () => stop?.abort();
  let name: string | undefined;
  try {
    const { tokens } = parseArgs({ args: [...argv], options: GLOBAL_OPTIONS, strict: false, allowPositionals: true, tokens: true });
    name = tokens.find((t) => t.kind === 'positional')?.value;
    const flags = new Set(tokens.flatMap((t) => (t.kind === 'option' ? [t.name] : [])));
    if (name === undefined) {
      if (flags.has('version')) {
        streams.stdout.write(`${packageJson.version}\n`);
        return EXIT.ok;
      }
      if (flags.has('help')) {
        streams.stdout.write(globalHelp(COMMANDS));
        return EXIT.ok;
      }
      streams.stderr.write(globalHelp(COMMANDS));
      return EXIT.usage;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (!command) throw usageError('<command>', `unknown command "${name}"; expected one of ${COMMANDS.map((c) => c.name).join(', ')}`);
    const { values, positionals } = parseStrict(command, argv);
    if (values.help === true) {
      streams.stdout.write(commandHelp(command));
      return EXIT.ok;
    }
    const token = typeof values.token === 'string' ? values.token : env.PMQ_TOKEN || undefined;
    const place: Place = { file: str(values.file), redis: str(values.redis), prefix: str(values.prefix), url: str(values.url), token };
    if (values.token !== undefined && place.url === undefined && command !== dashboard) throw usageError('--token', 'only goes with --url or dashboard');
    const note = (line: string) => streams.stderr.write(`pocketmq: ${line}\n`);
    const track = (inspector: Inspector): Inspector => {
      const close = () => inspector.close();
      closers.add(close);
      return {
        queues: () => inspector.queues(),
        stats: (queue) => inspector.stats(queue),
        peek: (queue, state, max) => inspector.peek(queue, state, max),
        redrive: (queue, options) => inspector.redrive(queue, options),
        purge: (queue) => inspector.purge(queue),
        close: () => {
          closers.delete(close);
          return close();
        },
      };
    };
    const context: CommandContext = {
      args: positionals.slice(positionals.indexOf(name) + 1),
      values,
      json: values.json === true,
      place,
      streams,
      note,
      inspect: async (options) => track(await openInspector(place, note, options)),
      openStorage: async () => {
        const opened = await openStorage(place);
        closers.add(() => opened.storage.close());
        return opened;
      },
      stopSignal: () => {
        if (!stop) {
          stop = new AbortController();
          process.once('SIGINT', signals).once('SIGTERM', signals);
        }
        return stop.signal;
      },
    };
    await command.run(context);
    return EXIT.ok;
  } catch (error) {
    const code = exitCodeOf(error);
    const message = (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ');
    const hint = code === EXIT.usage ? ` (see pocketmq ${name !== undefined && COMMANDS.some((c) => c.name === name) ? `${name} ` : ''}--help)` : '';
    streams.stderr.write(`pocketmq: ${message}${hint}\n`);
    return code;
  } finally {
    process.off('SIGINT', signals).off('SIGTERM', signals);
    for (const close of closers) await close().catch(() => undefined);
  }
}

const str = (value: string | boolean | undefined) => (typeof value === 'string' ? value : undefined);

/** The command line parsed strictly against the global options and the command's own. */
function parseStrict(command: Command, argv: readonly string[]) {
  const options: Record<string, OptionSpec> = { ...GLOBAL_OPTIONS, ...command.options };
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (!code.startsWith('ERR_PARSE_ARGS')) throw error;
    // Node's advice on positionals that start with '-' is more than a line; its first sentence names the option.
    const message = (error as Error).message.split(/\. To specify/)[0]!;
    throw new InvalidArgumentError(`pocketmq ${command.name}`, message);
  }
}
