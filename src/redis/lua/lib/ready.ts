/** The ready buckets (T:pris, T:r:<priority>) and the writes a batch of sends holds back for one command per key. */
export const READY = `
-- The key of each ready bucket this script uses, made once.
local BUCKETS = {}
local function bucketKey(base, priority)
  local keys = BUCKETS[base]
  if not keys then
    keys = {}
    BUCKETS[base] = keys
  end
  local key = keys[priority]
  if not key then
    key = base .. ':r:' .. priority
    keys[priority] = key
  end
  return key
end

-- Ready buckets this script has listed in T:pris: a batch of sends lists its bucket
-- once, not once per message. Every removal from T:pris goes through unlistBucket().
local LISTED = {}

local function listBucket(base, priority, bucket)
  if LISTED[bucket] then return end
  redis.call('ZADD', PRIS[base], -tonumber(priority), priority)
  LISTED[bucket] = true
end

local function unlistBucket(base, priority)
  redis.call('ZREM', PRIS[base], priority)
  LISTED[base .. ':r:' .. priority] = nil
end

-- While the sends of an enqueue script are inserted, what they add to the hashes and the
-- ready buckets waits here (key -> { command, list }), so that each key gets one command
-- for the whole script rather than one per message. flushPending() runs them before
-- anything reads those keys.
local PENDING = nil

local function addLater(command, key, first, second)
  local entry = PENDING[key]
  if not entry then
    entry = { command, {} }
    PENDING[key] = entry
  end
  local list = entry[2]
  list[#list + 1] = first
  list[#list + 1] = second
end

local function flushPending()
  for key, entry in pairs(PENDING) do bulk(entry[1], key, entry[2]) end
  PENDING = {}
end

-- Makes an unexpired message delayed or ready by its availableAt.
local function place(base, message)
  local expiresAt = message.expiresAt and tonumber(message.expiresAt)
  if message.availableAt ~= NOW_S and tonumber(message.availableAt) > NOW then
    local due = tonumber(message.availableAt)
    if expiresAt and expiresAt < due then due = expiresAt end
    setState(base, message, 'd')
    dueAdd(base, due, message.id)
    count(base, 'delayed', 1)
    return
  end
  setState(base, message, 'r')
  local bucket = bucketKey(base, message.priority)
  if PENDING then addLater('ZADD', bucket, count(base, 'seq', 1), message.id)
  else
    redis.call('ZADD', bucket, count(base, 'seq', 1), message.id)
  end
  listBucket(base, message.priority, bucket)
  count(base, 'ready', 1)
  if expiresAt then dueAdd(base, expiresAt, message.id) end
  READY[base] = true
end

local function removeReady(base, message)
  local bucket = base .. ':r:' .. message.priority
  redis.call('ZREM', bucket, message.id)
  if redis.call('ZCARD', bucket) == 0 then unlistBucket(base, message.priority) end
  count(base, 'ready', -1)
end
`;
