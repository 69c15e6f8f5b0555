/** KEYS: queue. ARGV from ARGS_AT: id. Payload: 1 when the waiting message was removed, 0 when in flight or absent. */
export const REMOVE = `
local base = KEYS[1]
advance(base)
local message = load(base, ARGV[ARGS_AT])
if not message or message.state == 'i' then return finish(0) end
unlink(base, message)
return finish(1)
`;
