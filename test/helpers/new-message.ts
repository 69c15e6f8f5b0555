import type { NewMessage } from '../../src/storage/storage.js';

/** A storage-level message as a plain `send()` makes it: body `{ id }`, sent and available at `now`; `fields` override. */
export function newMessage(id: string, now: number, fields: Partial<NewMessage> = {}): NewMessage {
  return {
    id,
    body: { id },
    headers: undefined,
    priority: 0,
    enqueuedAt: now,
    availableAt: now,
    expiresAt: undefined,
    dedupeId: undefined,
    group: undefined,
    correlationId: undefined,
    subject: undefined,
    ...fields,
  };
}
