/**
 * `pocketmq/redis`: queues kept in Redis, shared by many processes and machines.
 * Needs the optional peer dependency `ioredis` (`npm install ioredis`); the other
 * entries never load it.
 *
 * @module
 */
export { RedisStorage } from './redis/redis-storage.js';
export { queueFamily } from './redis/key-tag.js';
export type { RedisStorageOptions } from './redis/redis-storage.js';
export type { RedisKeyTag } from './redis/key-tag.js';
