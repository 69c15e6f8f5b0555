/** KEYS: queue. ARGV from ARGS_AT: id, token, dueAt. Payload: the settle. */
export const RELEASE = `
local base = KEYS[1]
advance(base)
local message, why = leased(base, ARGV[ARGS_AT], ARGV[ARGS_AT + 1], false)
if not message then return finish(why) end
dueRem(base, message.id)
count(base, 'inflight', -1)
count(base, 'retried', 1)
message.token = '0'
message.availableAt = ARGV[ARGS_AT + 2]
reschedule(base, message)
return finish('ok')
`;
