/** KEYS: queue. Payload: how many waiting messages were removed. */
export const PURGE = `
local base = KEYS[1]
advance(base)
local all = redis.call('HGETALL', META[base])
local waitingIds = {}
for k = 1, #all, 2 do
  local message = parse(all[k], all[k + 1])
  if message.state ~= 'i' then waitingIds[#waitingIds + 1] = { id = message.id, insertion = tonumber(message.insertion) } end
end
-- In insertion order, as the engine does: it decides which group member moves up first.
table.sort(waitingIds, function(left, right) return left.insertion < right.insertion end)
local removed = 0
for _, entry in ipairs(waitingIds) do
  local message = load(base, entry.id)
  if message and message.state ~= 'i' then
    unlink(base, message)
    removed = removed + 1
  end
end
return finish(removed)
`;
