/** KEYS: queue. ARGV from ARGS_AT: max. Payload: records in delivery order. */
export const PEEK = `
local base = KEYS[1]
local max = tonumber(ARGV[ARGS_AT])
advance(base)
local out = {}
local found = 0
for _, priority in ipairs(redis.call('ZRANGE', PRIS[base], 0, -1)) do
  for _, id in ipairs(redis.call('ZRANGE', base .. ':r:' .. priority, 0, max - found - 1)) do
    record(load(base, id, true), out)
    found = found + 1
  end
  if found >= max then break end
end
return finish(out)
`;
