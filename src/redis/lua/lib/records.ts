/** A message's two fields (T:m and T:b): reading, writing and removing them, and reporting a record. */
export const RECORDS = `
-- Runs one command over a list of arguments: one call instead of one per message, in
-- slices that unpack() can take (of an even length, for pairs).
local function bulk(command, key, list)
  for from = 1, #list, 1000 do
    redis.call(command, key, unpack(list, from, math.min(from + 999, #list)))
  end
end

-- HMGET of many fields, in slices that unpack() can take; false for each one missing.
local function hmgetAll(key, fields)
  if #fields == 0 then return {} end
  if #fields <= 1000 then return redis.call('HMGET', key, unpack(fields)) end
  local out = {}
  for from = 1, #fields, 1000 do
    local part = redis.call('HMGET', key, unpack(fields, from, math.min(from + 999, #fields)))
    for k = 1, #part do out[#out + 1] = part[k] end
  end
  return out
end

-- A message as the scripts hold it: its T:m string taken apart, and its T:b string once
-- something needs it (blobOf).
local function parse(id, meta)
  local st, n, t, a, ins, p, x, g = string.match(meta, '^(%a)|(%d+)|(%d+)|([^|]*)|(%d+)|([^|]*)|([^|]*)|(.*)$')
  return { id = id, st = st, n = tonumber(n), t = t, a = a, ins = ins, p = p,
    x = x ~= '' and x or false, g = g ~= '' and g or false }
end

local function metaOf(m)
  return m.st .. '|' .. m.n .. '|' .. m.t .. '|' .. m.a .. '|' .. m.ins .. '|' .. m.p .. '|' .. (m.x or '') .. '|' .. (m.g or '')
end

local function load(base, id, withBlob)
  local meta = redis.call('HGET', META[base], id)
  if not meta then return nil end
  local m = parse(id, meta)
  if withBlob then m.blob = redis.call('HGET', BLOB[base], id) end
  return m
end

local function blobOf(base, m)
  if not m.blob then m.blob = redis.call('HGET', BLOB[base], m.id) end
  return m.blob
end

-- What the client decodes into a StoredMessage (decodeRecord): id, T:b string, T:m string.
local function record(m, out, meta)
  local k = #out
  out[k + 1] = m.id; out[k + 2] = m.blob; out[k + 3] = meta or metaOf(m)
end

-- Per queue, while a batch of sends is inserted: which of their ids are taken (one
-- HMGET for the batch instead of a look per message). Kept up to date as messages come and go.
local TAKEN = {}

-- Deletes a message's two fields. Its data stays in m for whoever reports it.
local function remove(base, m)
  m.removed = true
  redis.call('HDEL', META[base], m.id)
  redis.call('HDEL', BLOB[base], m.id)
  local taken = TAKEN[base]
  if taken then taken[m.id] = nil end
end

local function expire(base, m)
  m.gone = true
  if not m.fresh then
    blobOf(base, m)
    if not m.removed then remove(base, m) end
  end
  count(base, 'expired', 1)
  EXPIRED[#EXPIRED + 1] = NAME[base]
  record(m, EXPIRED)
end

local function setState(base, m, st)
  m.st = st
  -- A message being inserted is written whole at the end of insert().
  if not m.fresh then redis.call('HSET', META[base], m.id, metaOf(m)) end
end
`;
