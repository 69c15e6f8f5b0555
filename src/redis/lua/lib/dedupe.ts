/** Deduplication (T:dd, T:ddx): what a dedupeId maps to, and forgetting it after the window. */
export const DEDUPE = `
local function pruneDedupe(base)
  -- 'dd' counts the remembered dedupeIds: most queues never use one, and skip the read.
  if stats(base).dd == 0 then return end
  local gone = redis.call('ZRANGEBYSCORE', base .. ':ddx', '-inf', NOW_S, 'LIMIT', 0, 1000)
  for _, dedupeId in ipairs(gone) do
    redis.call('HDEL', base .. ':dd', dedupeId)
    count(base, 'dd', -redis.call('ZREM', base .. ':ddx', dedupeId))
  end
end

local function duplicateOf(base, dedupeId)
  if not dedupeId then return nil end
  local untilS = redis.call('ZSCORE', base .. ':ddx', dedupeId)
  if untilS and tonumber(untilS) > NOW then return redis.call('HGET', base .. ':dd', dedupeId) end
  return nil
end
`;
