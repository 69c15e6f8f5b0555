import { nanoid } from 'nanoid';

/**
 * Message ids: a random prefix per process plus a counter. Unique across
 * processes sharing a storage, ordered within a process, and far cheaper than a
 * random id per message (the counter makes no random draw).
 */
const prefix = nanoid(10);

/** Ids come in blocks of 1,024 sharing a head: the prefix and the block number. */
const BLOCK = 1_024;
/** The last two characters of an id: its place in its block, two base-32 digits (fixed width, so ids never clash). */
const TAILS: readonly string[] = Array.from({ length: BLOCK }, (_, i) => i.toString(32).padStart(2, '0'));

let counter = 0;
let head = '';

export function newId(): string {
  const n = counter++;
  const place = n & (BLOCK - 1);
  if (place === 0) head = prefix + Math.floor(n / BLOCK).toString(36);
  // Two shared strings joined: no number formatting per id (docs/benchmarks.md).
  return head + TAILS[place]!;
}

/** A random id for things that must not be guessable or ordered (reply queues). */
export function randomId(): string {
  return nanoid();
}
