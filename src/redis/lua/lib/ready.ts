/** The ready buckets (T:pris, T:r:<p>) and the writes a batch of sends holds back for one command per key. */
export const READY = `
-- The key of each ready bucket this script uses, made once.
local BUCKETS = {}
local function bucketKey(base, p)
  local keys = BUCKETS[base]
  if not keys then
    keys = {}
    BUCKETS[base] = keys
  end
  local key = keys[p]
  if not key then
    key = base .. ':r:' .. p
    keys[p] = key
  end
  return key
end

-- Ready buckets this script has listed in T:pris: a batch of sends lists its bucket
-- once, not once per message. Every removal from T:pris goes through unlistBucket().
local LISTED = {}

local function listBucket(base, p, bucket)
  if LISTED[bucket] then return end
  redis.call('ZADD', PRIS[base], -tonumber(p), p)
  LISTED[bucket] = true
end

local function unlistBucket(base, p)
  redis.call('ZREM', PRIS[base], p)
  LISTED[base .. ':r:' .. p] = nil
end

-- While the sends of an enqueue script are inserted, what they add to the hashes and the
-- ready buckets waits here (key -> { command, list }), so that each key gets one command
-- for the whole script rather than one per message. flushPending() runs them before
-- anything reads those keys.
local PENDING = nil

local function addLater(command, key, a, b)
  local entry = PENDING[key]
  if not entry then
    entry = { command, {} }
    PENDING[key] = entry
  end
  local list = entry[2]
  list[#list + 1] = a
  list[#list + 1] = b
end

local function flushPending()
  for key, entry in pairs(PENDING) do bulk(entry[1], key, entry[2]) end
  PENDING = {}
end

-- Makes an unexpired message delayed or ready by its availableAt.
local function place(base, m)
  local exp = m.x and tonumber(m.x)
  if m.a ~= NOW_S and tonumber(m.a) > NOW then
    local avail = tonumber(m.a)
    local due = avail
    if exp and exp < due then due = exp end
    setState(base, m, 'd')
    dueAdd(base, due, m.id)
    count(base, 'delayed', 1)
    return
  end
  setState(base, m, 'r')
  local bucket = bucketKey(base, m.p)
  if PENDING then addLater('ZADD', bucket, count(base, 'seq', 1), m.id)
  else
    redis.call('ZADD', bucket, count(base, 'seq', 1), m.id)
  end
  listBucket(base, m.p, bucket)
  count(base, 'ready', 1)
  if exp then dueAdd(base, exp, m.id) end
  READY[base] = true
end

local function removeReady(base, m)
  local bucket = base .. ':r:' .. m.p
  redis.call('ZREM', bucket, m.id)
  if redis.call('ZCARD', bucket) == 0 then unlistBucket(base, m.p) end
  count(base, 'ready', -1)
end
`;
