/**
 * Body and header encoding for storages that keep bytes (file, Redis): JSON, with
 * `undefined` kept as such, and decoding that never lets a payload set a prototype.
 */

import { InvalidBodyError } from './errors.js';

/**
 * Encodes a message body. Throws an `InvalidBodyError` naming `body` when it cannot be
 * stored as JSON (sends check the stricter rule of `checkBody` before they get here).
 */
export function encodeBody(body: unknown): string {
  if (body === undefined) return '';
  let text: string | undefined;
  try {
    text = JSON.stringify(body);
  } catch (error) {
    throw new InvalidBodyError('body', 'body', `Expected \`body\` to be JSON-serializable, got a value JSON.stringify rejects: ${(error as Error).message}`);
  }
  if (text === undefined) throw new InvalidBodyError('body', 'body', `Expected \`body\` to be JSON-serializable, got ${typeof body}`);
  return text;
}

/**
 * Decodes what {@link encodeBody} made. `JSON.parse` defines a `"__proto__"` key as
 * an ordinary own property (CreateDataProperty), so a payload can never set a
 * prototype; no reviver is used, because one would have to re-create exactly that.
 */
export function decodeBody(text: string): unknown {
  if (text === '') return undefined;
  return JSON.parse(text);
}
