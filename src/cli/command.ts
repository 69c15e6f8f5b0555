/** The shape of a `pocketmq` command: its help, its options, and what it runs. */
import type { Inspector } from './inspector.js';
import type { OpenedStorage, Place } from './open-storage.js';
import type { Streams } from './output.js';

/** One option of a command, with what `--help` says about it. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** The placeholder of its value in the help: `N`, `QUEUE`. */
  readonly value?: string;
  readonly help: string;
}

export interface CommandContext {
  /** The positional arguments after the command's name. */
  readonly args: readonly string[];
  /** The parsed options, global ones included. */
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  /** `--json`: print JSON documents instead of tables. */
  readonly json: boolean;
  readonly place: Place;
  readonly streams: Streams;
  /** Opens where the queues are; what it opens is closed when the command ends. */
  inspect(options?: { readOnly?: boolean }): Promise<Inspector>;
  /** Opens `--file` or `--redis` as a storage; closed when the command ends. */
  openStorage(): Promise<OpenedStorage>;
  /** Writes a one-line note to stderr. */
  note(line: string): void;
  /** Aborts when the user stops the command (Ctrl-C, SIGTERM): what `--watch` and `dashboard` run until. */
  stopSignal(): AbortSignal;
}

export interface Command {
  readonly name: string;
  /** One line, for the list of commands. */
  readonly summary: string;
  /** Its arguments, as the help shows them after `pocketmq <name>`. */
  readonly usage: string;
  /** What it does, in a few lines. */
  readonly description: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly examples: readonly string[];
  run(context: CommandContext): Promise<void>;
}
