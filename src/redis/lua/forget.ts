/**
 * KEYS: queue. Payload: 1 when the queue held nothing and its keys are deleted, 0 when
 * it holds a message or a dedupeId within its window (then nothing changes). A deleted
 * queue is not reported in the reply's queues: finish() would write its counters back.
 */
export const FORGET = `
local base = KEYS[1]
advance(base)
if redis.call('HLEN', META[base]) > 0 or redis.call('ZCOUNT', base .. ':ddx', '(' .. NOW_S, '+inf') > 0 then
  return finish(0)
end
-- Priority buckets and group lists of an empty queue are empty, and Redis keeps no empty key.
redis.call('DEL', META[base], BLOB[base], PRIS[base], DUE[base], base .. ':dd', base .. ':ddx', base .. ':s')
return { 1, {}, EXPIRED }
`;
