/** KEYS: queue. ARGV from ARGS_AT: id, token, leaseUntil. Payload: the settle. */
export const EXTEND = `
local base = KEYS[1]
advance(base)
local why = leaseCheck(redis.call('HGET', META[base], ARGV[ARGS_AT]), ARGV[ARGS_AT + 1])
if why then return finish(why) end
dueAdd(base, ARGV[ARGS_AT + 2], ARGV[ARGS_AT])
return finish('ok')
`;
