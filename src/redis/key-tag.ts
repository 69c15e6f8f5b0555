import { PocketMQError } from '../errors.js';
import { expected } from '../validate.js';

/**
 * Which queues share a Redis Cluster slot (see {@link RedisStorageOptions.keyTag}):
 * `'family'` a queue and every queue named after it, `'queue'` each queue alone,
 * `'storage'` the whole prefix, or a function that names the group of a queue.
 */
export type RedisKeyTag = 'family' | 'queue' | 'storage' | ((queue: string) => string);

/**
 * The family of a queue: its name up to its first `.` or `:`. Names pocketmq derives
 * from a queue's or topic's name append to it (`orders.dlq`, a topic's subscription
 * queue `events:billing` and its `events:billing.dlq`, its record `events::subscriptions`,
 * reply queues `pricing.reply.<id>`), so they stay in its family, while `orders` and
 * `invoices` are two families.
 *
 * ```ts
 * queueFamily('orders.dlq');         // 'orders'
 * queueFamily('events:billing.dlq'); // 'events'
 * ```
 */
export function queueFamily(queue: string): string {
  const end = queue.search(/[.:]/);
  // A name that starts with a separator has an empty head: the whole name is its family then.
  return end <= 0 ? queue : queue.slice(0, end);
}

/** The hash tag part a queue's keys carry, without the braces; validates a function's answer. */
export function tagOf(keyTag: RedisKeyTag, prefix: string, queue: string): string {
  if (keyTag === 'family') return `${prefix}:${queueFamily(queue)}`;
  if (keyTag === 'queue') return `${prefix}:${queue}`;
  if (keyTag === 'storage') return prefix;
  const group = keyTag(queue);
  if (typeof group !== 'string' || group === '' || group.length > 200 || /[{}]/.test(group)) {
    throw expected(`options.keyTag("${queue}")`, 'a string of 1-200 characters without { or }', group);
  }
  return `${prefix}:${group}`;
}

/**
 * The start of every key of a queue, `{tag}` or `{tag}:queue`: Redis Cluster hashes only
 * the part in braces, so the keys of the queues that share a tag share a slot.
 */
export function keyBase(keyTag: RedisKeyTag, tag: string, queue: string): string {
  // 'queue' keeps its layout of before 'family' existed, where the tag is the whole base.
  return keyTag === 'queue' ? `{${tag}}` : `{${tag}}:${queue}`;
}

/**
 * An operation on a Cluster that would touch queues of different slots: Redis would
 * refuse the script (`CROSSSLOT`), so it is refused before anything is sent.
 */
export function crossSlotError(operation: string, queues: readonly string[], tags: readonly string[], keyTag: RedisKeyTag): PocketMQError {
  const rule =
    keyTag === 'family'
      ? "with keyTag 'family' a queue shares a slot with the queues whose names start like its own up to the first '.' or ':' (orders, orders.dlq, orders:billing)"
      : keyTag === 'queue'
        ? "with keyTag 'queue' every queue has a slot of its own"
        : 'options.keyTag put them in different slots';
  const where = queues.map((queue, i) => `"${queue}" (tag {${tags[i]}})`).join(' and ');
  return new PocketMQError(
    'ERR_REDIS_CROSS_SLOT',
    `RedisStorage ${operation}: ${where} are in different Redis Cluster slots, and one atomic operation can only touch one slot; ${rule}. ` +
      'Name the dead-letter queue after its queue (e.g. `${name}.dlq`), or choose a keyTag that puts them together (docs/redis.md, Redis Cluster). Nothing was changed.',
  );
}
