import { nanoid } from 'nanoid';

/**
 * Message ids: a random prefix per process plus a counter. Unique across
 * processes sharing a storage, ordered within a process, and far cheaper than a
 * random id per message (the counter makes no random draw and no allocation beyond the string).
 */
const prefix = nanoid(10);
let counter = 0;

export function newId(): string {
  return `${prefix}${(++counter).toString(36)}`;
}

/** A random id for things that must not be guessable or ordered (reply queues). */
export function randomId(): string {
  return nanoid();
}
