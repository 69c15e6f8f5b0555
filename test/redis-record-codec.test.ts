import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCRIPT } from '../src/redis/lua/script.js';
import { decodeRecord, encodeItems, encodeRecord, RECORD_LINES, STATE, STATE_FIELDS } from '../src/redis/record-codec.js';
import { RedisStorage } from '../src/redis.js';
import { TestClock } from '../src/test-clock.js';
import { newMessage } from './helpers/new-message.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';

/** The Lua between `local function <name>(` and the next `end` at the start of a line. */
function luaFunction(name: string): string {
  const start = SCRIPT.indexOf(`local function ${name}(`);
  expect(start, `the script defines ${name}()`).toBeGreaterThanOrEqual(0);
  return SCRIPT.slice(start, SCRIPT.indexOf('\nend\n', start));
}

describe('record codec: the Lua names the fields the TypeScript declares', () => {
  it("parse() captures the T:m fields in STATE_FIELDS's order", () => {
    const captures = /local ([\w, ]+) =\s*string\.match\(meta/.exec(luaFunction('parse'))?.[1]?.split(/,\s*/);
    expect(captures).toEqual([...STATE_FIELDS]);
  });

  it("stateString() joins the T:m fields in STATE_FIELDS's order", () => {
    const joined = [...luaFunction('stateString').matchAll(/message\.(\w+)/g)].map((match) => match[1]);
    expect(joined).toEqual([...STATE_FIELDS]);
  });

  it('the optional fields encodeItems() passes are fields readItem() declares', () => {
    const args: (string | number)[] = [];
    encodeItems([newMessage('a', 0, { expiresAt: 5, dedupeId: 'd', group: 'g', priority: 1 })], 0, args);
    // count, id, record, priority, availableAt, how many optional fields, then name/value pairs
    const names = args.slice(6).filter((_, i) => i % 2 === 0);
    expect(names).toEqual(['expiresAt', 'dedupeId', 'group']);
    const readItem = luaFunction('readItem');
    for (const name of names) expect(readItem).toContain(`${name} = false`);
  });
});

describe('record codec against what the script stores', () => {
  let server: RedisServer;
  let client: Redis;
  beforeAll(async () => {
    server = await startRedis();
    client = new Redis(server.url);
  });
  afterAll(async () => {
    client?.disconnect();
    await server?.close();
  });

  it('the T:m string the script writes has each field at the position STATE names', async () => {
    const clock = new TestClock(1_000);
    const storage = new RedisStorage({ url: server.url, prefix: 'codec', clock });
    const item = newMessage('m1', 1_000, { priority: 7, availableAt: 1_500, expiresAt: 9_000, group: 'a|b', headers: { k: 'v' }, subject: 's.t' });
    await storage.enqueue('q', [item], { maxLength: undefined, overflow: 'reject', deadLetter: 'q.dlq', dedupeWindow: 0 }, 1_000);
    const state = (await client.hget('{codec:q}:q:m', 'm1'))!.split('|');
    expect(state[STATE.state]).toBe('d');
    expect(state[STATE.attempt]).toBe('0');
    expect(state[STATE.availableAt]).toBe('1500');
    expect(state[STATE.priority]).toBe('7');
    expect(state[STATE.expiresAt]).toBe('9000');
    expect(state.slice(STATE.group).join('|')).toBe('a|b');
    const record = (await client.hget('{codec:q}:q:b', 'm1'))!;
    expect(record).toBe(encodeRecord(item));
    expect(record.split('\n')[RECORD_LINES.indexOf('subject')]).toBe('"s.t"');
    const { message } = decodeRecord(['m1', record, state.join('|')], 0);
    expect(message).toEqual({ ...item, attempt: 0 });
    await storage.close();
  });
});
