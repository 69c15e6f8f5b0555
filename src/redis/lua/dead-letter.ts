/** KEYS: queue [, target]. ARGV from A: id, token, reason, has error (0/1), error. Payload: the settle. */
export const DEAD_LETTER = `
local base = KEYS[1]
local target = KEYS[2] or false
advance(base)
local m, why = leased(base, ARGV[A], ARGV[A + 1], true)
if not m then return finish(why) end
unlink(base, m)
local err = false
if ARGV[A + 3] == '1' then err = ARGV[A + 4] end
deadLetterEntry(base, m, target, ARGV[A + 2], err, nil)
return finish('ok')
`;
