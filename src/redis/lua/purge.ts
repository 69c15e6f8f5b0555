/** KEYS: queue. Payload: how many waiting messages were removed. */
export const PURGE = `
local base = KEYS[1]
advance(base)
local all = redis.call('HGETALL', META[base])
local waitingIds = {}
for k = 1, #all, 2 do
  local m = parse(all[k], all[k + 1])
  if m.st ~= 'i' then waitingIds[#waitingIds + 1] = { id = m.id, ins = tonumber(m.ins) } end
end
-- In insertion order, as the engine does: it decides which group member moves up first.
table.sort(waitingIds, function(l, r) return l.ins < r.ins end)
local removed = 0
for _, w in ipairs(waitingIds) do
  local m = load(base, w.id)
  if m and m.st ~= 'i' then
    unlink(base, m)
    removed = removed + 1
  end
end
return finish(removed)
`;
