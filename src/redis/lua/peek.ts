/** KEYS: queue. ARGV from A: max. Payload: records in delivery order. */
export const PEEK = `
local base = KEYS[1]
local max = tonumber(ARGV[A])
advance(base)
local out = {}
local n = 0
for _, p in ipairs(redis.call('ZRANGE', PRIS[base], 0, -1)) do
  for _, id in ipairs(redis.call('ZRANGE', base .. ':r:' .. p, 0, max - n - 1)) do
    record(load(base, id, true), out)
    n = n + 1
  end
  if n >= max then break end
end
return finish(out)
`;
