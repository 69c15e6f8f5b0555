/** The due set (T:due): when something next happens to a message (delay end, lease end, TTL). */
export const DUE_SET = `
local function dueAdd(base, at, id)
  redis.call('ZADD', DUE[base], at, id)
  DUE_DIRTY[base] = true
  if tonumber(at) <= CALLER_NOW then EARLY = true end
end

local function dueRem(base, id)
  if redis.call('ZREM', DUE[base], id) == 1 then DUE_DIRTY[base] = true end
end
`;
