/**
 * Lets an example be both a module the test suite imports and a script
 * (`npx tsx examples/<name>.ts`) that prints what happened.
 */
import { argv } from 'node:process';
import { pathToFileURL } from 'node:url';
import type { Storage } from '../src/index.js';

/** What every example's `main()` takes. */
export interface ExampleOptions {
  /** Where the example's queues live; a fresh MemoryStorage on the system clock when left out. */
  storage?: Storage;
  /** Where the example narrates what happens; silent when left out (as under test). */
  log?: (line: string) => void;
}

/** True when the module at `url` is the script being run, not an import. */
export function isMain(url: string): boolean {
  return argv[1] !== undefined && pathToFileURL(argv[1]).href === url;
}
