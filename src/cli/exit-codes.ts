/**
 * The `pocketmq` command's exit codes, the promise scripts rely on (docs/cli.md lists them),
 * and which code an error ends the command with.
 */
import { InvalidArgumentError, OutOfRangeError, PocketMQError } from '../errors.js';

export const EXIT = {
  /** The command did what it was asked. */
  ok: 0,
  /** The operation failed: storage unreachable, corrupt, a dashboard error... */
  failed: 1,
  /** The command line was wrong (an unknown option, a bad number, purge without --yes): nothing was done. */
  usage: 2,
  /** The change was refused: a read-only directory or dashboard, or a missing or wrong token. Nothing was changed. */
  refused: 3,
} as const;

/** The codes of errors that mean "refused, nothing changed" rather than "failed". */
const REFUSALS = new Set(['ERR_READ_ONLY', 'ERR_UNAUTHORIZED', 'ERR_FORBIDDEN']);

export function exitCodeOf(error: unknown): number {
  if (error instanceof InvalidArgumentError || error instanceof OutOfRangeError) return EXIT.usage;
  if (error instanceof PocketMQError && REFUSALS.has(error.code)) return EXIT.refused;
  return EXIT.failed;
}

/** The usage error for `argument`: "--max: expected an integer >= 1, got "x"". */
export function usageError(argument: string, message: string): InvalidArgumentError {
  return new InvalidArgumentError(argument, `${argument}: ${message}`);
}
