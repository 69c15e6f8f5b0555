/**
 * Headers a dead-lettered copy carries, so its story travels with it: why it was
 * dead-lettered, the last error's message, the queue it left, how many deliveries it had,
 * and when (ms on the storage's clock). Every storage writes these names.
 *
 * `redriveCount` is the one a redrive writes (`Queue.redrive`): how many times the message
 * was moved back out of a dead-letter queue. A redrive removes the five others.
 */
export const DEAD_LETTER_HEADERS = {
  reason: 'x-dead-reason',
  error: 'x-dead-error',
  queue: 'x-original-queue',
  attempts: 'x-attempts',
  at: 'x-dead-at',
  redriveCount: 'x-redrive-count',
} as const;
