/** KEYS: queue [, target]. ARGV from ARGS_AT: id, token, reason, has error (0/1), error. Payload: the settle. */
export const DEAD_LETTER = `
local base = KEYS[1]
local target = KEYS[2] or false
advance(base)
local message, why = leased(base, ARGV[ARGS_AT], ARGV[ARGS_AT + 1], true)
if not message then return finish(why) end
unlink(base, message)
local err = false
if ARGV[ARGS_AT + 3] == '1' then err = ARGV[ARGS_AT + 4] end
deadLetterEntry(base, message, target, ARGV[ARGS_AT + 2], err, nil)
return finish('ok')
`;
