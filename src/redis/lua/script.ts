/**
 * The Lua side of RedisStorage: one script per Storage operation, each the
 * engine's operation (src/engine/engine.ts) re-stated over Redis structures, so
 * that every call is atomic on the server however many processes share a queue.
 *
 * All operations are one script (the library in lib/, then a branch per operation, each
 * in the file named after it), so that Redis keeps one compiled copy of the library:
 * every script in Redis's Lua heap is marked by each of its garbage collections, which
 * every script run pays for.
 *
 * Every call gets:
 *   KEYS[i]  the start of every key of each queue it touches (`{prefix:family}:queue`
 *            by default, see ../key-tag.ts); its `{...}` part picks the Cluster
 *            slot, so all keys of a queue hash to one slot (on Cluster, those of one call must too).
 *   ARGV[1]  the pub/sub channel, ARGV[2] the caller's instance id (so it can skip
 *            its own announcements), ARGV[3] `now` from the caller's clock (never
 *            Redis TIME), ARGV[4 .. 3+#KEYS] the queue names, then the operation's
 *            name and its own arguments.
 * and returns `{ payload, queues, expired }`: `queues` is, per touched queue,
 * name, version, earliest due time (or false) and whether it may have become
 * deliverable; `expired` lists the records whose TTL ran out (queue name first).
 *
 * Keys of a queue with tag T (docs/redis.md has the full layout):
 *   T:m           hash id -> what the scripts read and change of a message, as one string:
 *                 `state|attempt|token|availableAt|insertion|priority|expiresAt|group`
 *                 (state r ready, d delayed, g behind its group's head, i in flight;
 *                 expiresAt and group empty when absent; group last, so it may hold '|')
 *   T:b           hash id -> the rest of the message as the client encoded it (see
 *                 ../record-codec.ts); only dead-lettering looks inside
 *   T:pris        zset of priorities with ready messages, score -priority (a claim may
 *                 leave an emptied bucket listed; the next claim drops it)
 *   T:r:<p>       zset of ready ids of priority p, score = placement sequence (FIFO)
 *   T:due         zset id -> when something next happens to it (delay end, lease end, TTL)
 *   T:g:<group>   list of a FIFO group's ids; the head is the one that may be delivered
 *   T:dd / T:ddx  hash dedupeId -> id, and zset dedupeId -> remembered until
 *   T:sch         hash schedule id -> `next|JSON of the rest` (see ../schedule-codec.ts);
 *                 plain commands store, list and remove schedules, fireSchedule advances one
 *   T:s           hash of counters, sequences, `dd` (dedupeIds remembered), `v` (version)
 *                 and `pd` (announced due),
 *                 read once per script and written back once
 *
 * A message is two fields of two per-queue hashes rather than a key of its own: Redis
 * then makes and frees no key per message, and a batch of messages is read, written or
 * removed with one command per hash (see hmgetAll and bulk).
 */

import { ADVANCE } from './lib/advance.js';
import { CONTEXT } from './lib/context.js';
import { COUNTERS } from './lib/counters.js';
import { DEAD_LETTER_ENTRY } from './lib/dead-letter.js';
import { DEDUPE } from './lib/dedupe.js';
import { DUE_SET } from './lib/due-set.js';
import { FINISH } from './lib/finish.js';
import { GROUPS } from './lib/groups.js';
import { INSERT } from './lib/insert.js';
import { ITEM_LIST } from './lib/item-list.js';
import { LEASES } from './lib/leases.js';
import { READY } from './lib/ready.js';
import { RECORDS } from './lib/records.js';
import { ACK } from './ack.js';
import { BROWSE } from './browse.js';
import { ACK_CLAIM, CLAIM } from './claim.js';
import { DEAD_LETTER } from './dead-letter.js';
import { ENQUEUE, ENQUEUE_MANY } from './enqueue.js';
import { EXTEND } from './extend.js';
import { FORGET } from './forget.js';
import { PEEK } from './peek.js';
import { PURGE } from './purge.js';
import { REDRIVE } from './redrive.js';
import { RELEASE } from './release.js';
import { FIRE_SCHEDULE } from './schedule.js';
import { REMOVE } from './remove.js';
import { STATS } from './stats.js';
import { TICK } from './tick.js';

/**
 * The functions every operation shares, in an order where each piece only uses the
 * pieces before it (a Lua local is visible only after its definition).
 */
const LIBRARY = [CONTEXT, COUNTERS, DUE_SET, RECORDS, READY, GROUPS, INSERT, DEAD_LETTER_ENTRY, ADVANCE, DEDUPE, ITEM_LIST, LEASES, FINISH].join('');

/** The body of each operation, run after the library; each ends by returning finish(payload). */
const OPERATIONS = {
  enqueue: ENQUEUE,
  enqueueMany: ENQUEUE_MANY,
  claim: CLAIM,
  ack: ACK,
  ackClaim: ACK_CLAIM,
  release: RELEASE,
  deadLetter: DEAD_LETTER,
  extend: EXTEND,
  stats: STATS,
  purge: PURGE,
  forget: FORGET,
  peek: PEEK,
  tick: TICK,
  fireSchedule: FIRE_SCHEDULE,
  remove: REMOVE,
  browse: BROWSE,
  redrive: REDRIVE,
};

/** The name of an operation of {@link SCRIPT}. */
export type Operation = keyof typeof OPERATIONS;

/** The one script: the library, then the branch of the operation named in ARGV. */
export const SCRIPT = `${LIBRARY}
${Object.entries(OPERATIONS)
  .map(([name, body], i) => `${i === 0 ? 'if' : 'elseif'} OPERATION == '${name}' then\n${body}`)
  .join('')}end
return redis.error_reply('pocketmq: no operation ' .. tostring(OPERATION))
`;
