import { redisSkipReason } from './redis-server.js';

/** Says once per run, not once per test file, why Redis tests are skipped and how to run them. */
export default function setup(): void {
  const reason = redisSkipReason('own-server');
  if (reason !== undefined) console.warn(`\n${reason}\n`);
}
