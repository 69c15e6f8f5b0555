/**
 * The Lua side of RedisStorage: one script per Storage operation, each the
 * engine's operation (src/engine/engine.ts) re-stated over Redis structures, so
 * that every call is atomic on the server however many processes share a queue.
 *
 * All operations are one script (the library, then a branch per operation), so that
 * Redis keeps one compiled copy of the library: every script in Redis's Lua heap is
 * marked by each of its garbage collections, which every script run pays for.
 *
 * Every call gets:
 *   KEYS[i]  the start of every key of each queue it touches (`{prefix:family}:queue`
 *            by default, see redis-key-tag.ts); its `{...}` part picks the Cluster
 *            slot, so all keys of a queue hash to one slot (on Cluster, those of one call must too).
 *   ARGV[1]  the pub/sub channel, ARGV[2] the caller's instance id (so it can skip
 *            its own announcements), ARGV[3] `now` from the caller's clock (never
 *            Redis TIME), ARGV[4 .. 3+#KEYS] the queue names, then the operation's
 *            name and its own arguments.
 * and returns `{ payload, queues, expired }`: `queues` is, per touched queue,
 * name, version, earliest due time (or false) and whether it may have become
 * deliverable; `expired` lists the records whose TTL ran out (queue name first).
 *
 * Keys of a queue with tag T (docs/redis.md has the full layout):
 *   T:m           hash id -> what the scripts read and change of a message, as one string:
 *                 `state|attempt|token|availableAt|insertion|priority|expiresAt|group`
 *                 (state r ready, d delayed, g behind its group's head, i in flight;
 *                 expiresAt and group empty when absent; group last, so it may hold '|')
 *   T:b           hash id -> the rest of the message as the client encoded it (see
 *                 encodeRecord in redis-storage.ts); only dead-lettering looks inside
 *   T:pris        zset of priorities with ready messages, score -priority (a claim may
 *                 leave an emptied bucket listed; the next claim drops it)
 *   T:r:<p>       zset of ready ids of priority p, score = placement sequence (FIFO)
 *   T:due         zset id -> when something next happens to it (delay end, lease end, TTL)
 *   T:g:<group>   list of a FIFO group's ids; the head is the one that may be delivered
 *   T:dd / T:ddx  hash dedupeId -> id, and zset dedupeId -> remembered until
 *   T:s           hash of counters, sequences, `dd` (dedupeIds remembered), `v` (version)
 *                 and `pd` (announced due),
 *                 read once per script and written back once
 *
 * A message is two fields of two per-queue hashes rather than a key of its own: Redis
 * then makes and frees no key per message, and a batch of messages is read, written or
 * removed with one command per hash (see hmgetAll and bulk).
 */

const LIBRARY = `
local CHANNEL = ARGV[1]
local SELF = ARGV[2]
-- NOW is the caller's now, except while advance() applies a due change: then it is
-- the time that change fell due, so late and timely ticks give the same order.
local NOW_S = ARGV[3]
local NOW = tonumber(NOW_S)
local CALLER_NOW = NOW
-- Set when something was scheduled at or before the caller's now during advance().
local EARLY = false
local NAME = {}
local TOUCHED = {}
local READY = {}
local EXPIRED = {}
-- Key names of each queue, made once per script: a concatenation costs about as much
-- as a cheap redis.call.
local DUE = {}
local META = {}
local BLOB = {}
local PRIS = {}
for i = 1, #KEYS do
  local base = KEYS[i]
  NAME[base] = ARGV[3 + i]
  TOUCHED[i] = base
  DUE[base] = base .. ':due'
  META[base] = base .. ':m'
  BLOB[base] = base .. ':b'
  PRIS[base] = base .. ':pris'
end
-- The operation to run (see OPERATIONS), then its own arguments from A.
local OP = ARGV[4 + #KEYS]
local A = 5 + #KEYS

-- Each redis.call costs about as much as the command itself, so counters are read
-- once per queue (HMGET), kept here, and written back once by finish() (HSET).
local SFIELDS = { 'ready', 'delayed', 'grouped', 'inflight', 'sent', 'delivered', 'acked', 'retried', 'dead',
  'expired', 'seq', 'ins', 'tok', 'v', 'dd', 'pd' }
local STATS = {}
local DIRTY = {}
-- The earliest due time of a queue as last read (a string, or false for none), and
-- whether the due set changed since; finish() reads it again only then.
local FIRST_DUE = {}
local DUE_DIRTY = {}

local function stats(base)
  local st = STATS[base]
  if st then return st end
  local v = redis.call('HMGET', base .. ':s', unpack(SFIELDS))
  st = {}
  for i = 1, 15 do st[SFIELDS[i]] = tonumber(v[i]) or 0 end
  st.pd = v[16]
  st.held = st.ready + st.delayed + st.grouped + st.inflight
  st.ready0 = st.ready
  STATS[base] = st
  DIRTY[base] = {}
  return st
end

local function count(base, field, by)
  local st = stats(base)
  st[field] = st[field] + by
  DIRTY[base][field] = true
  return st[field]
end

local function dueAdd(base, at, id)
  redis.call('ZADD', DUE[base], at, id)
  DUE_DIRTY[base] = true
  if tonumber(at) <= CALLER_NOW then EARLY = true end
end

local function dueRem(base, id)
  if redis.call('ZREM', DUE[base], id) == 1 then DUE_DIRTY[base] = true end
end

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

-- Removes a message from its group's list; when it was the head, the next live
-- member takes its place (expired members on the way are expired).
local function dropFromGroup(base, m)
  if not m.g then return end
  local list = base .. ':g:' .. m.g
  if redis.call('LINDEX', list, 0) ~= m.id then
    redis.call('LREM', list, 1, m.id)
    return
  end
  redis.call('LPOP', list)
  while true do
    local nextId = redis.call('LINDEX', list, 0)
    if not nextId then return end
    count(base, 'grouped', -1)
    local n = load(base, nextId)
    if n.x then dueRem(base, nextId) end
    if n.x and tonumber(n.x) <= NOW then
      redis.call('LPOP', list)
      expire(base, n)
    else
      place(base, n)
      return
    end
  end
end

-- Places a message that is out of every structure (except its group's list, where it is the head).
local function reschedule(base, m)
  if m.x and tonumber(m.x) <= NOW then
    dropFromGroup(base, m)
    expire(base, m)
    return
  end
  place(base, m)
end

-- Takes a message out of every structure and the queue, keeping its group moving.
-- State 'x' is a ready message already popped from its bucket (by claim). Whoever
-- reports the message afterwards loads its T:b string first.
local function unlink(base, m)
  local st = m.st
  if st == 'd' or st == 'i' or m.x then dueRem(base, m.id) end
  if st == 'r' then removeReady(base, m)
  elseif st == 'd' then count(base, 'delayed', -1)
  elseif st == 'g' then count(base, 'grouped', -1)
  elseif st == 'i' then count(base, 'inflight', -1) end
  remove(base, m)
  dropFromGroup(base, m)
end

-- item: { id, blob, p, a, x, d, g } with false for absent fields.
local function insert(base, item, window)
  local id = item.id
  local ins = count(base, 'ins', 1)
  local known = TAKEN[base]
  -- Without a batch's look at the ids, the record string goes in first, only if the id is
  -- free: that write is the look.
  local stored = not known
  local taken
  if known then taken = known[id]
  else taken = redis.call('HSETNX', BLOB[base], id, item.blob) == 0 end
  if taken then
    -- Ids are unique per send, but a dead-letter copy can meet an earlier copy of itself.
    id = id .. ':' .. count(base, 'tok', 1)
    item.id = id
    if stored then redis.call('HSET', BLOB[base], id, item.blob) end
  end
  count(base, 'sent', 1)
  if item.d then
    redis.call('HSET', base .. ':dd', item.d, id)
    count(base, 'dd', redis.call('ZADD', base .. ':ddx', NOW + window, item.d))
  end
  item.st = 'r'
  item.n = 0
  item.t = '0'
  item.ins = ins
  item.fresh = true
  if not item.g or redis.call('RPUSH', base .. ':g:' .. item.g, id) == 1 then
    reschedule(base, item)
  else
    item.st = 'g'
    count(base, 'grouped', 1)
    if item.x then dueAdd(base, item.x, id) end
  end
  item.fresh = nil
  if item.gone then
    if stored then redis.call('HDEL', BLOB[base], id) end
    return id
  end
  if PENDING then
    addLater('HSET', META[base], id, metaOf(item))
    addLater('HSET', BLOB[base], id, item.blob)
  else
    redis.call('HSET', META[base], id, metaOf(item))
    if not stored then redis.call('HSET', BLOB[base], id, item.blob) end
  end
  if known then known[id] = true end
  return id
end

-- Reads which of a batch's ids a queue has already (see TAKEN).
local function knowTaken(base, ids)
  local found = hmgetAll(META[base], ids)
  local taken = {}
  for k = 1, #ids do
    if found[k] then taken[ids[k]] = true end
  end
  TAKEN[base] = taken
end

-- Moves a message (already unlinked, its T:b string loaded) to targetBase, or nowhere
-- when it is false; appends what left to 'out' as reason, target name (or false), record.
-- The copy's T:b string is the original's with enqueuedAt, headers and dedupeId replaced
-- (its first three lines, see encodeRecord in redis-storage.ts).
-- Defined below; deadLetterEntry brings a target queue up to NOW with it.
local advance
-- Target queues this script has brought up to NOW.
local ADVANCED = {}
local function deadLetterEntry(base, m, targetBase, reason, err, out)
  count(base, 'dead', 1)
  if targetBase then
    -- What fell due in the target while no script touched it becomes ready before the
    -- copy arrives, as it would have had a tick come first: FIFO within a priority.
    if not ADVANCED[targetBase] then
      ADVANCED[targetBase] = true
      advance(targetBase)
    end
    local blob = m.blob
    local eEnd = string.find(blob, '\\n', 1, true)
    local hEnd = string.find(blob, '\\n', eEnd + 1, true)
    local dEnd = string.find(blob, '\\n', hEnd + 1, true)
    local story = { ['x-dead-reason'] = reason, ['x-original-queue'] = NAME[base], ['x-attempts'] = tostring(m.n),
      ['x-dead-at'] = NOW_S }
    if err then story['x-dead-error'] = err end
    -- The headers are appended to, never decoded: cjson refuses some JSON that JSON.parse
    -- takes (an escaped lone surrogate), and a script that fails halfway keeps what it did.
    -- A key given twice is read as its last value, so the new story replaces an old one.
    local headers = cjson.encode(story)
    if hEnd > eEnd + 1 then
      local own = string.sub(blob, eEnd + 1, hEnd - 1)
      if own ~= '{}' then headers = string.sub(own, 1, -2) .. ',' .. string.sub(headers, 2) end
    end
    local copy = NOW_S .. '\\n' .. headers .. '\\n' .. string.sub(blob, dEnd)
    insert(targetBase, { id = m.id, blob = copy, p = m.p, a = NOW_S, x = false, d = false, g = m.g }, 0)
  end
  if out then
    out[#out + 1] = reason
    out[#out + 1] = targetBase and NAME[targetBase] or false
    record(m, out)
  end
end

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
      local ins = metas[k] and string.match(metas[k], '^%a|%d+|%d+|[^|]*|(%d+)|')
      items[k] = { id = ids[k], at = tonumber(batch[2 * k]), ins = tonumber(ins or 0) }
    end
    table.sort(items, function(l, r)
      if l.at ~= r.at then return l.at < r.at end
      return l.ins < r.ins
    end)
    local callerNowS = NOW_S
    for _, item in ipairs(items) do
      -- An earlier item of the batch may have moved or removed this one.
      local atS = redis.call('ZSCORE', dueKey, item.id)
      if atS and tonumber(atS) <= CALLER_NOW then
        redis.call('ZREM', dueKey, item.id)
        NOW = tonumber(atS)
        NOW_S = atS
        local m = load(base, item.id)
        if m.st == 'd' then
          count(base, 'delayed', -1)
          reschedule(base, m)
        elseif m.st == 'i' then
          -- The lease ran out: deliverable again from then, attempts kept.
          count(base, 'inflight', -1)
          m.t = '0'
          m.a = NOW_S
          reschedule(base, m)
        else
          -- Ready or grouped messages are in the due set only for their TTL.
          blobOf(base, m)
          unlink(base, m)
          expire(base, m)
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

-- The message a lease belongs to if the lease is current, else 'stale' or 'missing'.
local function leased(base, id, token, withBlob)
  local m = load(base, id, withBlob)
  if not m then return nil, 'missing' end
  if m.st ~= 'i' or m.t ~= token then return nil, 'stale' end
  return m, nil
end

-- The lease check of ack and extend on a T:m string (or false): nil when the lease is
-- current, else 'stale' or 'missing'; then the message's group (false for none).
local function leaseCheck(meta, token)
  if not meta then return 'missing', false end
  local st, t, g = string.match(meta, '^(%a)|%d+|(%d+)|[^|]*|%d+|[^|]*|[^|]*|(.*)$')
  if st ~= 'i' or t ~= token then return 'stale', false end
  return nil, g ~= '' and g
end

local function waiting(base)
  local st = stats(base)
  return st.ready + st.delayed + st.grouped
end

-- Items come in lists: a count n, then n items. An item is its id, its T:b string,
-- priority, availableAt, then how many optional fields follow and each as its letter and
-- value (x expiresAt, d dedupeId, g group). A count of -n says the n items are plain:
-- priority 0, available now, no optional field, so each is only its id and T:b string.

-- Reads the item at i (plain or not). Returns it and where the next starts.
local function readItem(i, plain)
  -- Made with every field insert() sets, so that the table never grows.
  if plain then
    return { id = ARGV[i], blob = ARGV[i + 1], p = '0', a = NOW_S, x = false, d = false, g = false,
      st = 'r', n = 0, t = '0', ins = 0, fresh = true }, i + 2
  end
  local item = { id = ARGV[i], blob = ARGV[i + 1], p = ARGV[i + 2], a = ARGV[i + 3], x = false, d = false, g = false,
    st = 'r', n = 0, t = '0', ins = 0, fresh = true }
  local j = i + 5
  for _ = 1, tonumber(ARGV[i + 4]) do
    item[ARGV[j]] = ARGV[j + 1]
    j = j + 2
  end
  return item, j
end

-- Reads the count of the list at i: how many items, whether they are plain, where the first starts.
local function readCount(i)
  local n = tonumber(ARGV[i])
  if n < 0 then return -n, true, i + 1 end
  return n, false, i + 1
end

-- Appends the ids of the list at i to ids; returns where the list ends.
local function listIds(i, ids)
  local n, plain
  n, plain, i = readCount(i)
  for _ = 1, n do
    ids[#ids + 1] = ARGV[i]
    if plain then i = i + 2 else i = i + 5 + 2 * tonumber(ARGV[i + 4]) end
  end
  return i
end

-- Leases up to max ready messages, in priority then FIFO order; a message whose lease ran
-- out on its last allowed attempt is dead-lettered instead. Returns { delivered records,
-- dead-lettered entries }; a delivered record's T:m string carries its lease token.
-- The hot path (every message) rewrites the start of each T:m string and counts in locals:
-- a table, a parse or a count() per message costs as much as a Redis command here.
local function claimUpTo(base, dlq, max, leaseMs, maxAttempts)
  local delivered = {}
  local d = 0
  local dead = {}
  -- Every lease of this claim ends at the same time: one ZADD for all (score, id) pairs,
  -- and one HSET for all the new T:m strings.
  local leaseEnd = NOW + leaseMs
  local leases = {}
  local metas = {}
  local w = 0
  local n = 0
  local popped = 0
  local st = stats(base)
  while n < max do
    local top = redis.call('ZRANGE', PRIS[base], 0, 0)[1]
    if not top then break end
    local want = max - n
    local scored = redis.call('ZPOPMIN', base .. ':r:' .. top, want)
    -- A bucket emptied by an earlier pop of exactly its size stays listed until now.
    if #scored < want * 2 then unlistBucket(base, top) end
    local ids = {}
    for i = 1, #scored, 2 do ids[#ids + 1] = scored[i] end
    popped = popped + #ids
    local found = hmgetAll(META[base], ids)
    local blobs = hmgetAll(BLOB[base], ids)
    for k = 1, #ids do
      local id = ids[k]
      local attempts, rest = string.match(found[k], '^%a|(%d+)|%d+|(.*)$')
      attempts = tonumber(attempts)
      if attempts >= maxAttempts then
        -- Only a lease that ran out on the last allowed attempt gets here: a failed
        -- handler is dead-lettered by the caller instead of released.
        local m = parse(id, found[k])
        m.blob = blobs[k]
        m.st = 'x'
        unlink(base, m)
        deadLetterEntry(base, m, dlq, 'max-attempts', 'lease expired', dead)
        -- Its group's next member may now be ready at a higher priority than the rest of
        -- this batch: the rest goes back, and the buckets are looked at again.
        if m.g and k < #ids then
          local bucket = bucketKey(base, top)
          local back = {}
          for j = k + 1, #ids do
            back[#back + 1] = scored[2 * j]
            back[#back + 1] = ids[j]
          end
          bulk('ZADD', bucket, back)
          listBucket(base, top, bucket)
          popped = popped - (#ids - k)
          break
        end
      else
        -- A TTL in the due set is replaced by the lease end (ZADD below).
        st.tok = st.tok + 1
        local meta = 'i|' .. (attempts + 1) .. '|' .. st.tok .. '|' .. rest
        metas[w + 1] = id
        metas[w + 2] = meta
        leases[w + 1] = leaseEnd
        leases[w + 2] = id
        w = w + 2
        delivered[d + 1] = id
        delivered[d + 2] = blobs[k]
        delivered[d + 3] = meta
        d = d + 3
        n = n + 1
      end
    end
  end
  if popped > 0 then count(base, 'ready', -popped) end
  if n > 0 then
    DIRTY[base].tok = true
    count(base, 'inflight', n)
    count(base, 'delivered', n)
    bulk('HSET', META[base], metas)
    bulk('ZADD', DUE[base], leases)
    DUE_DIRTY[base] = true
  end
  return { delivered, dead }
end

-- Acks the id, token pairs in ARGV from 'from' to the end; returns a settle per pair.
local function ackPairs(base, from)
  local out = {}
  local ids = {}
  for i = from, #ARGV, 2 do ids[#ids + 1] = ARGV[i] end
  local found = hmgetAll(META[base], ids)
  -- unlink() of each acked message, with its removals made once for the batch.
  local seen = {}
  local gone = {}
  local acked = 0
  -- Moving a group on may change messages read above: after that, read each one again.
  local reread = false
  for k = 1, #ids do
    local id = ids[k]
    local why = nil
    -- The same receipt twice in one call: the second finds it gone, as it would one by one.
    if seen[id] then why = 'missing'
    else
      local meta = found[k]
      if reread then meta = redis.call('HGET', META[base], id) end
      local group
      why, group = leaseCheck(meta, ARGV[from + 2 * k - 1])
      if not why then
        seen[id] = true
        acked = acked + 1
        gone[acked] = id
        if group then
          dropFromGroup(base, { id = id, g = group })
          reread = true
        end
      end
    end
    out[k] = why or 'ok'
  end
  if acked > 0 then
    -- Moving a group on (above) reads no in-flight or acked count: they are counted once here.
    count(base, 'inflight', -acked)
    count(base, 'acked', acked)
    -- Leased messages are always in the due set (their lease end).
    bulk('ZREM', DUE[base], gone)
    DUE_DIRTY[base] = true
    bulk('HDEL', META[base], gone)
    bulk('HDEL', BLOB[base], gone)
  end
  return out
end

-- Writes back the counters, reports each touched queue's version and earliest due
-- time, and announces to other processes a queue that became deliverable or whose
-- due time came earlier than what was announced (or the announced time has passed).
-- A later due time is not announced: listeners keep the earlier one and re-read then.
local function finish(payload)
  local queues = {}
  for _, base in ipairs(TOUCHED) do
    local st = stats(base)
    local v = count(base, 'v', 1)
    local due = FIRST_DUE[base]
    if due == nil or DUE_DIRTY[base] then
      due = redis.call('ZRANGE', DUE[base], 0, 0, 'WITHSCORES')[2] or false
    end
    local pd = st.pd
    local announce = ''
    if due and (not pd or tonumber(due) < tonumber(pd) or tonumber(pd) <= NOW) then
      st.pd = due
      DIRTY[base].pd = true
      announce = due
    elseif not due and pd and tonumber(pd) <= NOW then
      redis.call('HDEL', base .. ':s', 'pd')
    end
    local args = {}
    for field in pairs(DIRTY[base]) do
      args[#args + 1] = field
      args[#args + 1] = st[field]
    end
    redis.call('HSET', base .. ':s', unpack(args))
    -- A queue that just became empty wakes its waiters too: idle() in other processes waits for that.
    local drained = st.held > 0 and st.ready + st.delayed + st.grouped + st.inflight == 0
    local ready = (READY[base] or drained) and '1' or '0'
    -- Other processes only need waking when nothing was ready before: a consumer waits only
    -- after a claim found nothing, and every later change from none to some is announced.
    local wake = drained or (READY[base] and st.ready0 == 0)
    if announce ~= '' or wake then
      redis.call('PUBLISH', CHANNEL, SELF .. '|' .. NAME[base] .. '|' .. v .. '|' .. (wake and '1' or '0') .. '|' .. announce)
    end
    queues[#queues + 1] = NAME[base]
    queues[#queues + 1] = v
    queues[#queues + 1] = due
    queues[#queues + 1] = ready
  end
  return { payload, queues, EXPIRED }
end
`;


/**
 * KEYS: queue [, dead-letter queue for drop-oldest]. ARGV from A: maxLength ('' for
 * none), overflow, dedupeWindow, then one or more segments, each a list of items
 * (readCount, readItem). Each segment is one `enqueue()` call (the client merges the
 * calls of one tick), applied in order, each all or nothing.
 * Payload per segment: 0 when every item was stored and nothing dropped (the usual case,
 * kept short), else { full (0/1), results (id, 'stored'|'duplicate')..., dropped (reason, target, record)... }.
 */
const ENQUEUE = `
local base = KEYS[1]
local dlq = KEYS[2] or false
local maxLength = ARGV[A] ~= '' and tonumber(ARGV[A]) or nil
local overflow = ARGV[A + 1]
local window = tonumber(ARGV[A + 2])
advance(base)
pruneDedupe(base)

local function segment(from)
  local n, plainItems
  n, plainItems, from = readCount(from)
  if plainItems and not maxLength then
    -- Plain items have no dedupeId and nothing bounds the queue: each is stored as it is.
    local i = from
    for _ = 1, n do
      local item
      item, i = readItem(i, true)
      insert(base, item, window)
    end
    return 0, i
  end
  local items = {}
  local results = {}
  local batchIds = {}
  local fresh = 0
  local plain = true
  local i = from
  for _ = 1, n do
    local item
    item, i = readItem(i, plainItems)
    local dup = duplicateOf(base, item.d)
    if not dup and item.d then dup = batchIds[item.d] end
    if dup then
      plain = false
      results[#results + 1] = dup
      results[#results + 1] = 'duplicate'
    else
      results[#results + 1] = item.id
      results[#results + 1] = 'stored'
      fresh = fresh + 1
      -- Items of one batch are stored at the same now: within the window of each other only when it is not 0.
      if item.d and window > 0 then batchIds[item.d] = item.id end
      items[#items + 1] = item
    end
  end
  if maxLength and overflow == 'reject' and waiting(base) + fresh > maxLength then
    return { 1, {}, {} }, i
  end
  for _, item in ipairs(items) do insert(base, item, window) end
  local dropped = {}
  if maxLength then
    -- Dropping reads the ready buckets and the hashes, and may insert dead-letter copies:
    -- everything up to date first, and no waiting list until the drops are done.
    local batched = PENDING
    if batched then flushPending() end
    PENDING = nil
    local left = waiting(base)
    while left > maxLength do
      local victim = nil
      local lowest = redis.call('ZRANGE', PRIS[base], -1, -1)[1]
      while lowest and not victim do
        local id = redis.call('ZRANGE', base .. ':r:' .. lowest, 0, 0)[1]
        if id then
          victim = load(base, id, true)
        else
          -- Claims leave an emptied bucket listed; drop it now.
          unlistBucket(base, lowest)
          lowest = redis.call('ZRANGE', PRIS[base], -1, -1)[1]
        end
      end
      if not victim then
        -- Rare: everything waiting is delayed or behind a group. The oldest by insertion goes.
        local all = redis.call('HGETALL', META[base])
        local oldest = nil
        for k = 1, #all, 2 do
          local m = parse(all[k], all[k + 1])
          if m.st ~= 'i' and (not oldest or tonumber(m.ins) < tonumber(oldest.ins)) then oldest = m end
        end
        if oldest then
          victim = oldest
          blobOf(base, victim)
        end
      end
      if not victim then break end
      unlink(base, victim)
      deadLetterEntry(base, victim, dlq, 'overflow', false, dropped)
      left = waiting(base)
    end
    if batched then PENDING = {} end
  end
  if plain and #dropped == 0 then return 0, i end
  return { 0, results, dropped }, i
end

-- Several sends (the calls of one tick, merged) are inserted as a batch: one look at
-- which ids are taken, and one command per hash and bucket for all of them.
local ids = {}
local j = A + 3
while j <= #ARGV do j = listIds(j, ids) end
if #ids > 1 then
  PENDING = {}
  knowTaken(base, ids)
end

local out = {}
local i = A + 3
while i <= #ARGV do
  out[#out + 1], i = segment(i)
end
if PENDING then flushPending() end
PENDING = nil
return finish(out)
`;

/** KEYS: every queue. ARGV from A: dedupeWindow, then a list of items (readCount, readItem). Payload: 0. */
const ENQUEUE_MANY = `
local window = tonumber(ARGV[A])
local ids = {}
listIds(A + 1, ids)
for _, base in ipairs(KEYS) do
  advance(base)
  pruneDedupe(base)
  if #ids > 1 then
    PENDING = {}
    knowTaken(base, ids)
  end
  local n, plain, i = readCount(A + 1)
  for _ = 1, n do
    local item
    item, i = readItem(i, plain)
    if not duplicateOf(base, item.d) then insert(base, item, window) end
  end
  if PENDING then flushPending() end
  PENDING = nil
end
return finish(0)
`;

/**
 * KEYS: queue [, dead-letter queue]. ARGV from A: max, leaseMs, maxAttempts.
 * Payload: { delivered (record)..., deadLettered (reason, target, record)... }; a
 * delivered record's T:m string carries its lease token.
 */
const CLAIM = `
advance(KEYS[1])
return finish(claimUpTo(KEYS[1], KEYS[2] or false, tonumber(ARGV[A]), tonumber(ARGV[A + 1]), tonumber(ARGV[A + 2])))
`;

/** KEYS: queue. ARGV from A: id, token pairs. Payload: a settle per pair. */
const ACK = `
advance(KEYS[1])
return finish(ackPairs(KEYS[1], A))
`;

/**
 * An ack followed by a claim on the same queue (a consumer's acks and its next claim,
 * made in one turn): one script instead of two, applied in that order.
 * KEYS: queue [, dead-letter queue]. ARGV from A: max, leaseMs, maxAttempts, then id, token pairs.
 * Payload: { settles, delivered, deadLettered } as ACK and CLAIM give them.
 */
const ACK_CLAIM = `
local base = KEYS[1]
advance(base)
local settles = ackPairs(base, A + 3)
local claimed = claimUpTo(base, KEYS[2] or false, tonumber(ARGV[A]), tonumber(ARGV[A + 1]), tonumber(ARGV[A + 2]))
return finish({ settles, claimed[1], claimed[2] })
`;

/** KEYS: queue. ARGV from A: id, token, dueAt. Payload: the settle. */
const RELEASE = `
local base = KEYS[1]
advance(base)
local m, why = leased(base, ARGV[A], ARGV[A + 1], false)
if not m then return finish(why) end
dueRem(base, m.id)
count(base, 'inflight', -1)
count(base, 'retried', 1)
m.t = '0'
m.a = ARGV[A + 2]
reschedule(base, m)
return finish('ok')
`;

/** KEYS: queue [, target]. ARGV from A: id, token, reason, has error (0/1), error. Payload: the settle. */
const DEAD_LETTER = `
local base = KEYS[1]
local target = KEYS[2] or false
advance(base)
local m, why = leased(base, ARGV[A], ARGV[A + 1], true)
if not m then return finish(why) end
unlink(base, m)
local err = false
if ARGV[A + 3] == '1' then err = ARGV[A + 4] end
deadLetterEntry(base, m, target, ARGV[A + 2], err, nil)
return finish('ok')
`;

/** KEYS: queue. ARGV from A: id, token, leaseUntil. Payload: the settle. */
const EXTEND = `
local base = KEYS[1]
advance(base)
local why = leaseCheck(redis.call('HGET', META[base], ARGV[A]), ARGV[A + 1])
if why then return finish(why) end
dueAdd(base, ARGV[A + 2], ARGV[A])
return finish('ok')
`;

/** KEYS: queue. Payload: the counters in QueueStats order after ready, delayed, grouped, inflight. */
const STATS = `
local base = KEYS[1]
advance(base)
local st = stats(base)
return finish({ st.ready, st.delayed, st.grouped, st.inflight, st.sent, st.delivered, st.acked, st.retried, st.dead,
  st.expired })
`;

/** KEYS: queue. Payload: how many waiting messages were removed. */
const PURGE = `
local base = KEYS[1]
advance(base)
local all = redis.call('HGETALL', META[base])
local waitingIds = {}
for k = 1, #all, 2 do
  local m = parse(all[k], all[k + 1])
  if m.st ~= 'i' then waitingIds[#waitingIds + 1] = { id = m.id, ins = tonumber(m.ins) } end
end
-- In insertion order, as the engine does: it decides which group member moves up first.
table.sort(waitingIds, function(l, r) return l.ins < r.ins end)
local removed = 0
for _, w in ipairs(waitingIds) do
  local m = load(base, w.id)
  if m and m.st ~= 'i' then
    unlink(base, m)
    removed = removed + 1
  end
end
return finish(removed)
`;

/** KEYS: queue. ARGV from A: max. Payload: records in delivery order. */
const PEEK = `
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

/**
 * KEYS: queue. Payload: 1 when the queue held nothing and its keys are deleted, 0 when
 * it holds a message or a dedupeId within its window (then nothing changes). A deleted
 * queue is not reported in the reply's queues: finish() would write its counters back.
 */
const FORGET = `
local base = KEYS[1]
advance(base)
if redis.call('HLEN', META[base]) > 0 or redis.call('ZCOUNT', base .. ':ddx', '(' .. NOW_S, '+inf') > 0 then
  return finish(0)
end
-- Priority buckets and group lists of an empty queue are empty, and Redis keeps no empty key.
redis.call('DEL', META[base], BLOB[base], PRIS[base], DUE[base], base .. ':dd', base .. ':ddx', base .. ':s')
return { 1, {}, EXPIRED }
`;

/** KEYS: queues. Payload: 0. */
const TICK = `
for _, base in ipairs(KEYS) do advance(base) end
return finish(0)
`;

/** The body of each operation, run after the library; each ends by returning finish(payload). */
const OPERATIONS = {
  enqueue: ENQUEUE,
  enqueueMany: ENQUEUE_MANY,
  claim: CLAIM,
  ack: ACK,
  ackClaim: ACK_CLAIM,
  release: RELEASE,
  deadLetter: DEAD_LETTER,
  extend: EXTEND,
  stats: STATS,
  purge: PURGE,
  forget: FORGET,
  peek: PEEK,
  tick: TICK,
};

/** The name of an operation of {@link SCRIPT}. */
export type Operation = keyof typeof OPERATIONS;

/** The one script: the library, then the branch of the operation named in ARGV. */
export const SCRIPT = `${LIBRARY}
${Object.entries(OPERATIONS)
  .map(([name, body], i) => `${i === 0 ? 'if' : 'elseif'} OP == '${name}' then\n${body}`)
  .join('')}end
return redis.error_reply('pocketmq: no operation ' .. tostring(OP))
`;
