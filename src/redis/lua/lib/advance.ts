/** Applying what fell due (delays, retries, lease ends, TTLs) before an operation. */
export const ADVANCE = `
-- Applies everything due by NOW in one queue (delays, retries, lease ends, TTLs) in
-- time order, each at the time it fell due; simultaneous ones in insertion order.
function advance(base)
  local dueKey = DUE[base]
  local first = redis.call('ZRANGE', dueKey, 0, 0, 'WITHSCORES')
  if not first[2] or tonumber(first[2]) > NOW then
    FIRST_DUE[base] = first[2] or false
    return
  end
  DUE_DIRTY[base] = true
  while true do
    local batch = redis.call('ZRANGEBYSCORE', dueKey, '-inf', NOW_S, 'WITHSCORES', 'LIMIT', 0, 500)
    if #batch == 0 then return end
    local ids = {}
    for i = 1, #batch, 2 do ids[#ids + 1] = batch[i] end
    local metas = hmgetAll(META[base], ids)
    local items = {}
    for k = 1, #ids do
      local insertion = metas[k] and string.match(metas[k], '^%a|%d+|%d+|[^|]*|(%d+)|')
      items[k] = { id = ids[k], at = tonumber(batch[2 * k]), insertion = tonumber(insertion or 0) }
    end
    table.sort(items, function(left, right)
      if left.at ~= right.at then return left.at < right.at end
      return left.insertion < right.insertion
    end)
    local callerNowS = NOW_S
    for _, item in ipairs(items) do
      -- An earlier item of the batch may have moved or removed this one.
      local atS = redis.call('ZSCORE', dueKey, item.id)
      if atS and tonumber(atS) <= CALLER_NOW then
        redis.call('ZREM', dueKey, item.id)
        NOW = tonumber(atS)
        NOW_S = atS
        local message = load(base, item.id)
        if message.state == 'd' then
          count(base, 'delayed', -1)
          reschedule(base, message)
        elseif message.state == 'i' then
          -- The lease ran out: deliverable again from then, attempts kept.
          count(base, 'inflight', -1)
          message.token = '0'
          message.availableAt = NOW_S
          reschedule(base, message)
        else
          -- Ready or grouped messages are in the due set only for their TTL.
          blobOf(base, message)
          unlink(base, message)
          expire(base, message)
        end
        NOW = CALLER_NOW
        NOW_S = callerNowS
        -- Something now due before the rest of the batch: read the due set again.
        if EARLY then
          EARLY = false
          break
        end
      end
    end
  end
end
`;
