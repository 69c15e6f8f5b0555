/** The text of `pocketmq --help` and `pocketmq <command> --help`. */
import type { Command, OptionSpec } from './command.js';
import { EXIT } from './exit-codes.js';

/** The options every command takes: where the queues are, and how to print. */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  file: { type: 'string', value: 'DIR', help: 'A FileStorage directory (opened read-only when another process holds it).' },
  redis: { type: 'string', value: 'URL', help: 'A Redis server: redis://[user:password@]host:port[/db].' },
  prefix: { type: 'string', value: 'P', help: "With --redis: the storage's key prefix. Default pocketmq." },
  url: { type: 'string', value: 'URL', help: "A running app's dashboard, e.g. http://localhost:4000." },
  token: { type: 'string', value: 'T', help: "With --url (and for dashboard): the dashboard's token. Default: $PMQ_TOKEN." },
  json: { type: 'boolean', help: 'Print JSON for scripts instead of tables.' },
  help: { type: 'boolean', short: 'h', help: 'Show help (of a command: pocketmq <command> --help).' },
  version: { type: 'boolean', short: 'V', help: "Print pocketmq's version." },
};

function optionLines(options: Readonly<Record<string, OptionSpec>>): string[] {
  const rows = Object.entries(options).map(([name, o]) => [`${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`, o.help] as const);
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, help]) => `  ${left.padEnd(width)}  ${help}`);
}

const EXIT_LINES = [
  'Exit codes:',
  `  ${EXIT.ok}  done`,
  `  ${EXIT.failed}  the operation failed (storage unreachable or damaged, dashboard error)`,
  `  ${EXIT.usage}  wrong command line (unknown option, bad value, purge without --yes): nothing done`,
  `  ${EXIT.refused}  change refused (a held --file directory, a read-only dashboard, a missing or wrong token): nothing changed`,
];

export function globalHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'pocketmq: look at and repair the queues of a pocketmq storage.',
    '',
    'Usage: pocketmq <command> [arguments] (--file DIR | --redis URL [--prefix P] | --url URL [--token T]) [--json]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    ...EXIT_LINES,
    '',
    'Errors go to stderr, one line each; data goes to stdout. See docs/cli.md.',
    '',
  ].join('\n');
}

export function commandHelp(command: Command): string {
  const own = Object.keys(command.options).length > 0 ? ['Options:', ...optionLines(command.options), ''] : [];
  return [
    `Usage: pocketmq ${command.name}${command.usage ? ` ${command.usage}` : ''} [global options]`,
    '',
    command.description,
    '',
    ...own,
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'Examples:',
    ...command.examples.map((e) => `  ${e}`),
    '',
    ...EXIT_LINES,
    '',
  ].join('\n');
}
