import { ENQUEUE } from './enqueue.js';

/**
 * KEYS: queue [, dead-letter queue for drop-oldest]. ARGV from ARGS_AT: the schedule's id,
 * the `next` the caller expects (as it read it), the schedule's new stored string ('' to
 * remove it), then ENQUEUE's arguments (the schedule's policy and one segment of items).
 * Compare-and-set: when the schedule's stored `next` is not the expected one (another
 * process fired the tick, or the schedule changed or went), nothing changes and the
 * payload is 'stale'; otherwise the schedule is advanced and the items enqueued, in one
 * script, so a tick is sent once however many processes race for it. Payload: ENQUEUE's.
 */
export const FIRE_SCHEDULE = `
local schedules = KEYS[1] .. ':sch'
local scheduleId = ARGV[ARGS_AT]
local stored = redis.call('HGET', schedules, scheduleId)
local bar = stored and string.find(stored, '|', 1, true)
if not bar or string.sub(stored, 1, bar - 1) ~= ARGV[ARGS_AT + 1] then
  advance(KEYS[1])
  return finish('stale')
end
if ARGV[ARGS_AT + 2] == '' then
  redis.call('HDEL', schedules, scheduleId)
else
  redis.call('HSET', schedules, scheduleId, ARGV[ARGS_AT + 2])
end
ARGS_AT = ARGS_AT + 3
${ENQUEUE}`;
