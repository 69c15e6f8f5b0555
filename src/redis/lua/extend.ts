/** KEYS: queue. ARGV from A: id, token, leaseUntil. Payload: the settle. */
export const EXTEND = `
local base = KEYS[1]
advance(base)
local why = leaseCheck(redis.call('HGET', META[base], ARGV[A]), ARGV[A + 1])
if why then return finish(why) end
dueAdd(base, ARGV[A + 2], ARGV[A])
return finish('ok')
`;
