/** Deduplication (T:dd, T:ddx): what a dedupeId maps to, and forgetting it after the window. */
export const DEDUPE = `
local function pruneDedupe(base)
  -- 'dd' counts the remembered dedupeIds: most queues never use one, and skip the read.
  if stats(base).dd == 0 then return end
  local gone = redis.call('ZRANGEBYSCORE', base .. ':ddx', '-inf', NOW_S, 'LIMIT', 0, 1000)
  for _, d in ipairs(gone) do
    redis.call('HDEL', base .. ':dd', d)
    count(base, 'dd', -redis.call('ZREM', base .. ':ddx', d))
  end
end

local function duplicateOf(base, d)
  if not d then return nil end
  local untilS = redis.call('ZSCORE', base .. ':ddx', d)
  if untilS and tonumber(untilS) > NOW then return redis.call('HGET', base .. ':dd', d) end
  return nil
end
`;
