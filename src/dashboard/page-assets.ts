import { fileURLToPath } from 'node:url';
import type { PageAssets } from './page-bundle.js';

export type { PageAssets } from './page-bundle.js';

/**
 * The page's script and stylesheet. Run from source (tests, tsx), the page is bundled on
 * first use; the package build replaces this module with the text bundled at build time
 * (tsup.config.ts), so the published package needs no bundler and reads no file.
 */
export async function loadPageAssets(): Promise<PageAssets> {
  const { bundlePage } = await import('./page-bundle.js');
  return bundlePage(fileURLToPath(new URL('./page/', import.meta.url)));
}
