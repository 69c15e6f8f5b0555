/** KEYS: queue. ARGV from A: id, token, dueAt. Payload: the settle. */
export const RELEASE = `
local base = KEYS[1]
advance(base)
local m, why = leased(base, ARGV[A], ARGV[A + 1], false)
if not m then return finish(why) end
dueRem(base, m.id)
count(base, 'inflight', -1)
count(base, 'retried', 1)
m.t = '0'
m.a = ARGV[A + 2]
reschedule(base, m)
return finish('ok')
`;
