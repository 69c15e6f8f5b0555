import { chromiumSkipReason } from './chromium.js';

/** Says once per run, not once per test file, why the browser tests are skipped and how to run them. */
export default function setup(): void {
  const reason = chromiumSkipReason();
  if (reason !== undefined) console.warn(`\n${reason}\n`);
}
