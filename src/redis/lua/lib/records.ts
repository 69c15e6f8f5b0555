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
  local state, attempt, token, availableAt, insertion, priority, expiresAt, group =
    string.match(meta, '^(%a)|(%d+)|(%d+)|([^|]*)|(%d+)|([^|]*)|([^|]*)|(.*)$')
  return { id = id, state = state, attempt = tonumber(attempt), token = token, availableAt = availableAt,
    insertion = insertion, priority = priority,
    expiresAt = expiresAt ~= '' and expiresAt or false, group = group ~= '' and group or false }
end

local function stateString(message)
  return message.state .. '|' .. message.attempt .. '|' .. message.token .. '|' .. message.availableAt .. '|' .. message.insertion .. '|' .. message.priority .. '|' .. (message.expiresAt or '') .. '|' .. (message.group or '')
end

local function load(base, id, withBlob)
  local meta = redis.call('HGET', META[base], id)
  if not meta then return nil end
  local message = parse(id, meta)
  if withBlob then message.blob = redis.call('HGET', BLOB[base], id) end
  return message
end

local function blobOf(base, message)
  if not message.blob then message.blob = redis.call('HGET', BLOB[base], message.id) end
  return message.blob
end

-- What the client decodes into a StoredMessage (decodeRecord): id, T:b string, T:m string.
local function record(message, out, meta)
  local length = #out
  out[length + 1] = message.id; out[length + 2] = message.blob; out[length + 3] = meta or stateString(message)
end

-- Per queue, while a batch of sends is inserted: which of their ids are taken (one
-- HMGET for the batch instead of a look per message). Kept up to date as messages come and go.
local TAKEN = {}

-- Deletes a message's two fields. Its data stays in message for whoever reports it.
local function remove(base, message)
  message.removed = true
  redis.call('HDEL', META[base], message.id)
  redis.call('HDEL', BLOB[base], message.id)
  local taken = TAKEN[base]
  if taken then taken[message.id] = nil end
end

local function expire(base, message)
  message.gone = true
  if not message.fresh then
    blobOf(base, message)
    if not message.removed then remove(base, message) end
  end
  count(base, 'expired', 1)
  EXPIRED[#EXPIRED + 1] = NAME[base]
  record(message, EXPIRED)
end

local function setState(base, message, state)
  message.state = state
  -- A message being inserted is written whole at the end of insert().
  if not message.fresh then redis.call('HSET', META[base], message.id, stateString(message)) end
end
`;
