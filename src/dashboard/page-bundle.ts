import { join } from 'node:path';
import { build } from 'esbuild';

/** The page's script and stylesheet, as served. */
export interface PageAssets {
  readonly script: string;
  readonly style: string;
}

/** Bundles the page in `pageDir` (src/dashboard/page) for the browser: used by the build and when run from source. */
export async function bundlePage(pageDir: string): Promise<PageAssets> {
  const common = { bundle: true, minify: true, write: false, logLevel: 'silent', legalComments: 'none' } as const;
  const [script, style] = await Promise.all([
    build({ ...common, entryPoints: [join(pageDir, 'main.ts')], format: 'iife', platform: 'browser', target: 'es2020', tsconfig: join(pageDir, 'tsconfig.json') }),
    build({ ...common, entryPoints: [join(pageDir, 'style.css')], target: 'chrome100' }),
  ]);
  return { script: script.outputFiles[0]!.text, style: style.outputFiles[0]!.text };
}
