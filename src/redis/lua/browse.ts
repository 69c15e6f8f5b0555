/**
 * KEYS: queue. ARGV from ARGS_AT: state ('ready', 'delayed' or 'inflight'), max.
 * Payload: { records, lease ends }: ready records in delivery order then those behind
 * their group's head in insertion order; delayed ones by availableAt; in-flight ones by
 * lease end, whose scores (T:due) come in the second list, one per record.
 */
export const BROWSE = `
local base = KEYS[1]
local state = ARGV[ARGS_AT]
local max = tonumber(ARGV[ARGS_AT + 1])
advance(base)
local out = {}
local leaseEnds = {}
local found = 0
if state == 'ready' then
  for _, priority in ipairs(redis.call('ZRANGE', PRIS[base], 0, -1)) do
    for _, id in ipairs(redis.call('ZRANGE', base .. ':r:' .. priority, 0, max - found - 1)) do
      record(load(base, id, true), out)
      found = found + 1
    end
    if found >= max then break end
  end
end
local wanted = state == 'ready' and 'g' or (state == 'delayed' and 'd' or 'i')
if found < max and (wanted ~= 'g' or stats(base).grouped > 0) then
  local all = redis.call('HGETALL', META[base])
  local picked = {}
  for k = 1, #all, 2 do
    local message = parse(all[k], all[k + 1])
    if message.state == wanted then
      message.order = tonumber(message.insertion)
      if wanted == 'i' then
        message.leaseEnd = redis.call('ZSCORE', DUE[base], message.id)
        message.key = tonumber(message.leaseEnd)
      elseif wanted == 'd' then message.key = tonumber(message.availableAt)
      else message.key = 0 end
      picked[#picked + 1] = message
    end
  end
  table.sort(picked, function(left, right)
    if left.key ~= right.key then return left.key < right.key end
    return left.order < right.order
  end)
  for k = 1, math.min(#picked, max - found) do
    local message = picked[k]
    blobOf(base, message)
    record(message, out)
    if wanted == 'i' then leaseEnds[#leaseEnds + 1] = message.leaseEnd end
  end
end
return finish({ out, leaseEnds })
`;
