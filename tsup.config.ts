import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { defineConfig, type Options } from 'tsup';
import { bundlePage } from './src/dashboard/page-bundle.js';

type EsbuildPlugin = NonNullable<Options['esbuildPlugins']>[number];

/** Dependencies bundled into dist/ (devDependencies, never `dependencies`: DESIGN.md "Zero runtime dependencies"). */
const bundled = ['eventemitter3', 'nanoid', 'croner'];

// 'pocketmq' and 'pocketmq/testing' always; the Node-only entries once their source exists.
const libraryEntry = ['src/index.ts', 'src/testing.ts', 'src/file.ts', 'src/redis.ts', 'src/dashboard.ts', 'src/otel.ts', 'src/crypto.ts'].filter((file) => existsSync(file));
// The `pocketmq` bin: built with the library so that it shares its chunks; its `#!` line
// is kept by esbuild and makes tsup mark dist/cli.js executable. It has no types to publish.
const entry = [...libraryEntry, 'src/cli.ts'];

/**
 * nanoid 5's default entry imports `node:crypto`; its `browser` build uses the global
 * `crypto.getRandomValues` (Node 20 has it). Resolve nanoid to that build so the core
 * entry imports no `node:` module (STYLE.md pitfall 1). Only nanoid is redirected:
 * turning on the `browser` condition globally would change how every package resolves.
 */
const nanoidBrowser: EsbuildPlugin = {
  name: 'nanoid-browser',
  setup(build) {
    const require = createRequire(import.meta.url);
    const file = join(dirname(require.resolve('nanoid/package.json')), 'index.browser.js');
    build.onResolve({ filter: /^nanoid$/ }, () => ({ path: file }));
  },
};

/**
 * The dashboard's page, bundled for the browser and inlined: src/dashboard/page-assets.ts
 * becomes a module that returns the text, so both the ESM and the CJS build serve the page
 * without reading a file or loading a bundler at run time.
 */
const inlineDashboardPage: EsbuildPlugin = {
  name: 'inline-dashboard-page',
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/]dashboard[\\/]page-assets\.ts$/ }, async () => {
      const assets = await bundlePage(join(process.cwd(), 'src', 'dashboard', 'page'));
      return { contents: `export async function loadPageAssets() { return ${JSON.stringify(assets)}; }`, loader: 'js' };
    });
  },
};

export default defineConfig({
  entry,
  format: ['esm', 'cjs'],
  outDir: 'dist',
  target: 'node20',
  platform: 'node',
  // One build for all entries with shared chunks, in CJS too (tsup splits only ESM by
  // default): otherwise 'pocketmq' and 'pocketmq/file' each carry their own copy of
  // the error classes and `instanceof` fails across them (STYLE.md pitfall 2).
  splitting: true,
  bundle: true,
  noExternal: bundled,
  // Optional peers of 'pocketmq/redis' and 'pocketmq/otel'; must never be bundled (tsup issue #998).
  external: ['ioredis', '@opentelemetry/api'],
  esbuildPlugins: [nanoidBrowser, inlineDashboardPage],
  // Inline the bundled packages' types too, so no .d.ts imports a package the user lacks
  // (STYLE.md pitfall 3). The relative-path pattern is needed as well: without it the
  // relative imports *inside* an inlined package's .d.ts files (e.g.
  // `from './queue.js'`) stay in our output as dangling imports. Our own relative
  // imports are unaffected (./x.js has no x.js.d.ts or x.js.ts to resolve to).
  // The banner: the handles' and storages' [Symbol.asyncDispose] need TypeScript's
  // esnext.disposable lib, which the dts bundler drops from src/dispose.ts (TS >= 5.2).
  // stripInternal: members and types marked `@internal` stay out of the .d.ts, so the
  // emitted types hold only the documented API (test/package.test.ts checks the names).
  dts: { entry: libraryEntry, resolve: [...bundled, /^\.\.?\//], banner: '/// <reference lib="esnext.disposable" />', compilerOptions: { stripInternal: true } },
  // Keep `node:fs` as written (tsup strips the prefix by default); it marks Node-only code.
  removeNodeProtocol: false,
  sourcemap: true,
  clean: true,
});
