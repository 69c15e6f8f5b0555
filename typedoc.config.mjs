// @ts-check
// TypeDoc options (a JS file rather than typedoc.json so that entries that don't exist yet,
// such as src/file.ts or src/redis.ts, are left out instead of failing the run).
import { existsSync } from 'node:fs';

/** @type {Partial<import('typedoc').TypeDocOptions>} */
const config = {
  entryPoints: ['src/index.ts', 'src/testing.ts', 'src/file.ts', 'src/redis.ts', 'src/dashboard.ts', 'src/otel.ts', 'src/crypto.ts'].filter((file) => existsSync(file)),
  out: 'docs/api',
  // Until README.md exists, 'none' keeps `npm run docs` usable.
  readme: existsSync('README.md') ? 'README.md' : 'none',
  tsconfig: 'tsconfig.json',
  excludePrivate: true,
  excludeInternal: true,
  // No git remote to link "Defined in" to.
  disableSources: true,
  // `npm run docs` fails on any warning (a broken {@link}, an unexported type in a public signature, ...).
  treatWarningsAsErrors: true,
};

export default config;
