import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStorage } from '../src/redis.js';
import { TestClock } from '../src/test-clock.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { describeStorage } from './storage-contract.js';

let server: RedisServer;
let prefixes = 0;
/** A prefix no other test uses: each test sees an empty storage on the shared server. */
const freshPrefix = () => `t${process.pid}-${++prefixes}`;

beforeAll(async () => {
  server = await startRedis();
});

afterAll(async () => {
  await server?.close();
});

describeStorage('RedisStorage', async (clock) => ({ storage: new RedisStorage({ url: server.url, prefix: freshPrefix(), clock }) }));
