import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { loadPageAssets } from './page-assets.js';
import { sendBytes } from './respond.js';

/**
 * No inline script or style anywhere, so this policy lets nothing but our own files run:
 * a message body that slipped past escaping still could not execute.
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// Relative URLs: the page works under any basePath or framework mount path.
const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pocketmq dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="assets/app.css">
<script src="assets/app.js" defer></script>
</head>
<body>
<noscript>The pocketmq dashboard needs JavaScript.</noscript>
</body>
</html>
`;

interface Asset {
  readonly type: string;
  readonly plain: Buffer;
  readonly gzip: Buffer;
}

const asset = (type: string, text: string): Asset => {
  const plain = Buffer.from(text, 'utf8');
  return { type, plain, gzip: gzipSync(plain, { level: 9 }) };
};

let assets: Promise<Map<string, Asset>> | undefined;

/** The page's files by path below the base path, prepared once per process. */
function pageFiles(): Promise<Map<string, Asset>> {
  assets ??= loadPageAssets().then(
    ({ script, style }) =>
      new Map([
        ['/', asset('text/html; charset=utf-8', HTML)],
        ['/assets/app.js', asset('text/javascript; charset=utf-8', script)],
        ['/assets/app.css', asset('text/css; charset=utf-8', style)],
      ]),
  );
  return assets;
}

/** Whether `path` (below the base path) is one of the page's files. */
export const isPagePath = (path: string) => path === '/' || path === '/assets/app.js' || path === '/assets/app.css';

/** Serves one of the page's files, gzipped when the client accepts it. */
export async function servePage(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const file = (await pageFiles()).get(path)!;
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const headers: Record<string, string> = { 'content-type': file.type, 'content-security-policy': CONTENT_SECURITY_POLICY, vary: 'accept-encoding' };
  if (gzip) headers['content-encoding'] = 'gzip';
  sendBytes(res, 200, headers, gzip ? file.gzip : file.plain);
}
