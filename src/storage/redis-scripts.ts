/**
 * The Lua side of RedisStorage: one script per Storage operation, each the
 * engine's operation (src/engine/engine.ts) re-stated over Redis structures, so
 * that every call is atomic on the server however many processes share a queue.
 *
 * Every script gets:
 *   KEYS[i]  the key tag of each queue it touches, `{prefix:queue}`; all keys of a
 *            queue start with its tag, so they hash to one Cluster slot.
 *   ARGV[1]  the pub/sub channel, ARGV[2] the caller's instance id (so it can skip
 *            its own announcements), ARGV[3] `now` from the caller's clock (never
 *            Redis TIME), ARGV[4 .. 3+#KEYS] the queue names, then its own arguments.
 * and returns `{ payload, queues, expired }`: `queues` is, per touched queue,
 * name, version, earliest due time (or false) and whether it may have become
 * deliverable; `expired` lists the records whose TTL ran out (queue name first).
 *
 * Keys of a queue with tag T (docs/redis.md has the full layout):
 *   T:m:<id>      hash, one message: b body, h headers JSON, p priority, e enqueuedAt,
 *                 a availableAt, x expiresAt, d dedupeId, g group, c correlationId,
 *                 s subject, n attempt, t lease token, st state (r ready, d delayed,
 *                 g behind its group's head, i in flight)
 *   T:pris        zset of priorities with ready messages, score -priority (a claim may
 *                 leave an emptied bucket listed; the next claim drops it)
 *   T:r:<p>       zset of ready ids of priority p, score = placement sequence (FIFO)
 *   T:due         zset id -> when something next happens to it (delay end, lease end, TTL)
 *   T:g:<group>   list of a FIFO group's ids; the head is the one that may be delivered
 *   T:all         zset of every id, score = insertion sequence (purge, drop-oldest)
 *   T:dd / T:ddx  hash dedupeId -> id, and zset dedupeId -> remembered until
 *   T:s           hash of counters, sequences, `dd` (dedupeIds remembered), `v` (version)
 *                 and `pd` (announced due),
 *                 read once per script and written back once
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
local ALL = {}
local PRIS = {}
for i = 1, #KEYS do
  local base = KEYS[i]
  NAME[base] = ARGV[3 + i]
  TOUCHED[i] = base
  DUE[base] = base .. ':due'
  ALL[base] = base .. ':all'
  PRIS[base] = base .. ':pris'
end
local A = 4 + #KEYS

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
-- slices that unpack() can take (of an even length, for pairs). With no key, the list
-- is the keys (DEL).
local function bulk(command, key, list)
  for from = 1, #list, 1000 do
    local to = math.min(from + 999, #list)
    if key then redis.call(command, key, unpack(list, from, to))
    else redis.call(command, unpack(list, from, to)) end
  end
end

local FIELDS = { 'b', 'h', 'p', 'e', 'a', 'x', 'd', 'g', 'c', 's', 'n', 't', 'st' }

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

local function load(base, id)
  local v = redis.call('HMGET', base .. ':m:' .. id, unpack(FIELDS))
  if not v[13] then return nil end
  return { id = id, b = v[1], h = v[2], p = v[3], e = v[4], a = v[5], x = v[6], d = v[7], g = v[8],
    c = v[9], s = v[10], n = tonumber(v[11]), t = v[12], st = v[13] }
end

-- load() for a ready message claim just popped: the lease fields are known (no lease,
-- state ready), so only the 11 record fields are read.
local RECORD_FIELDS = { 'b', 'h', 'p', 'e', 'a', 'x', 'd', 'g', 'c', 's', 'n' }
local function loadReady(base, id)
  local v = redis.call('HMGET', base .. ':m:' .. id, unpack(RECORD_FIELDS))
  return { id = id, b = v[1], h = v[2], p = v[3], e = v[4], a = v[5], x = v[6], d = v[7], g = v[8],
    c = v[9], s = v[10], n = tonumber(v[11]), t = '0', st = 'r' }
end

-- What the client decodes into a StoredMessage, in this order.
local function record(m, out)
  local k = #out
  out[k + 1] = m.id; out[k + 2] = m.b; out[k + 3] = m.h or false; out[k + 4] = m.p; out[k + 5] = m.e
  out[k + 6] = m.a; out[k + 7] = m.x or false; out[k + 8] = m.d or false; out[k + 9] = m.g or false
  out[k + 10] = m.c or false; out[k + 11] = m.s or false; out[k + 12] = tostring(m.n)
end

local function expire(base, m)
  m.gone = true
  if not m.fresh then redis.call('DEL', base .. ':m:' .. m.id) end
  redis.call('ZREM', ALL[base], m.id)
  count(base, 'expired', 1)
  EXPIRED[#EXPIRED + 1] = NAME[base]
  record(m, EXPIRED)
end

local function setState(base, m, st)
  m.st = st
  -- A message being inserted is written whole at the end of insert().
  if not m.fresh then redis.call('HSET', base .. ':m:' .. m.id, 'st', st) end
end

-- While the sends of an enqueue script are inserted, what they add to T:all and to the
-- ready buckets waits here (key -> { score, id, ... }), so that each key gets one ZADD
-- for the whole script rather than one per message. flushPending() adds them before
-- anything reads those keys.
local PENDING = nil

local function addLater(key, score, id)
  local list = PENDING[key]
  if not list then
    list = {}
    PENDING[key] = list
  end
  list[#list + 1] = score
  list[#list + 1] = id
end

local function flushPending()
  for key, list in pairs(PENDING) do bulk('ZADD', key, list) end
  PENDING = {}
end

-- Makes an unexpired message delayed or ready by its availableAt.
local function place(base, m)
  local exp = m.x and tonumber(m.x)
  local avail = tonumber(m.a)
  if avail > NOW then
    local due = avail
    if exp and exp < due then due = exp end
    setState(base, m, 'd')
    dueAdd(base, due, m.id)
    count(base, 'delayed', 1)
    return
  end
  setState(base, m, 'r')
  local bucket = base .. ':r:' .. m.p
  if PENDING then addLater(bucket, count(base, 'seq', 1), m.id)
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
-- State 'x' is a ready message already popped from its bucket (by claim).
local function unlink(base, m)
  local st = m.st
  if st == 'd' or st == 'i' or m.x then dueRem(base, m.id) end
  if st == 'r' then removeReady(base, m)
  elseif st == 'd' then count(base, 'delayed', -1)
  elseif st == 'g' then count(base, 'grouped', -1)
  elseif st == 'i' then count(base, 'inflight', -1) end
  redis.call('DEL', base .. ':m:' .. m.id)
  redis.call('ZREM', ALL[base], m.id)
  dropFromGroup(base, m)
end

-- item: { id, b, h, p, e, a, x, d, g, c, s } with false for absent fields.
local function insert(base, item, window)
  local id = item.id
  local ins = count(base, 'ins', 1)
  local taken
  if PENDING then
    -- An id is in T:all exactly when its record exists; T:all gets it with the rest below.
    taken = redis.call('EXISTS', base .. ':m:' .. id) == 1
  else
    taken = redis.call('ZADD', ALL[base], 'NX', ins, id) == 0
  end
  if taken then
    -- Ids are unique per send, but a dead-letter copy can meet an earlier copy of itself.
    id = id .. ':' .. count(base, 'tok', 1)
    item.id = id
    if not PENDING then redis.call('ZADD', ALL[base], ins, id) end
  end
  count(base, 'sent', 1)
  if item.d then
    redis.call('HSET', base .. ':dd', item.d, id)
    count(base, 'dd', redis.call('ZADD', base .. ':ddx', NOW + window, item.d))
  end
  item.n = 0
  item.fresh = true
  if not item.g or redis.call('RPUSH', base .. ':g:' .. item.g, id) == 1 then
    reschedule(base, item)
  else
    item.st = 'g'
    count(base, 'grouped', 1)
    if item.x then dueAdd(base, item.x, id) end
  end
  item.fresh = nil
  if item.gone then return id end
  local args = { 'b', item.b, 'p', item.p, 'e', item.e, 'a', item.a, 'n', 0, 't', 0, 'st', item.st }
  if item.h then args[#args + 1] = 'h'; args[#args + 1] = item.h end
  if item.x then args[#args + 1] = 'x'; args[#args + 1] = item.x end
  if item.d then args[#args + 1] = 'd'; args[#args + 1] = item.d end
  if item.g then args[#args + 1] = 'g'; args[#args + 1] = item.g end
  if item.c then args[#args + 1] = 'c'; args[#args + 1] = item.c end
  if item.s then args[#args + 1] = 's'; args[#args + 1] = item.s end
  redis.call('HSET', base .. ':m:' .. id, unpack(args))
  if PENDING then addLater(ALL[base], ins, id) end
  return id
end

-- Moves a message (already unlinked) to targetBase, or nowhere when it is false;
-- appends what left to 'out' as reason, target name (or false), record.
local function deadLetterEntry(base, m, targetBase, reason, err, out)
  count(base, 'dead', 1)
  if targetBase then
    local headers = {}
    if m.h then headers = cjson.decode(m.h) end
    headers['x-dead-reason'] = reason
    if err then headers['x-dead-error'] = err end
    headers['x-original-queue'] = NAME[base]
    headers['x-attempts'] = tostring(m.n)
    headers['x-dead-at'] = NOW_S
    insert(targetBase, { id = m.id, b = m.b, h = cjson.encode(headers), p = m.p, e = NOW_S, a = NOW_S,
      x = false, d = false, g = m.g, c = m.c, s = m.s }, 0)
  end
  if out then
    out[#out + 1] = reason
    out[#out + 1] = targetBase and NAME[targetBase] or false
    record(m, out)
  end
end

-- Applies everything due by NOW in one queue (delays, retries, lease ends, TTLs) in
-- time order, each at the time it fell due; simultaneous ones in insertion order.
local function advance(base)
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
    local items = {}
    for i = 1, #batch, 2 do
      items[#items + 1] = { id = batch[i], at = tonumber(batch[i + 1]),
        ins = tonumber(redis.call('ZSCORE', ALL[base], batch[i]) or 0) }
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
          redis.call('HSET', base .. ':m:' .. m.id, 't', 0, 'a', NOW_S)
          reschedule(base, m)
        else
          -- Ready or grouped messages are in the due set only for their TTL.
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
local function leased(base, id, token)
  local m = load(base, id)
  if not m then return nil, 'missing' end
  if m.st ~= 'i' or m.t ~= token then return nil, 'stale' end
  return m, nil
end

-- leased() for ack and extend, which need only what unlink() reads of a leased message:
-- a field read costs about as much as a cheap command, and a record has 13.
local function leasedState(base, id, token)
  local v = redis.call('HMGET', base .. ':m:' .. id, 'st', 't', 'g')
  if not v[1] then return nil, 'missing' end
  if v[1] ~= 'i' or v[2] ~= token then return nil, 'stale' end
  return { id = id, st = 'i', g = v[3] }, nil
end

local function waiting(base)
  local st = stats(base)
  return st.ready + st.delayed + st.grouped
end

-- Reads an item from ARGV at i: id, body, priority, enqueuedAt, availableAt, then how
-- many optional fields follow and each as its letter and value (h headers, x expiresAt,
-- d dedupeId, g group, c correlationId, s subject). Returns it and where the next starts.
local function readItem(i)
  local item = { id = ARGV[i], b = ARGV[i + 1], p = ARGV[i + 2], e = ARGV[i + 3], a = ARGV[i + 4],
    h = false, x = false, d = false, g = false, c = false, s = false }
  local j = i + 6
  for _ = 1, tonumber(ARGV[i + 5]) do
    item[ARGV[j]] = ARGV[j + 1]
    j = j + 2
  end
  return item, j
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

/** Builds a script from the library and its body. */
function script(body: string): string {
  return `${LIBRARY}\n${body}`;
}

/**
 * KEYS: queue [, dead-letter queue for drop-oldest]. ARGV from A: maxLength ('' for
 * none), overflow, dedupeWindow, then one or more segments: an item count and that
 * many items as readItem() reads them. Each segment is one `enqueue()` call (the client merges the
 * calls of one tick), applied in order, each all or nothing.
 * Payload per segment: { full (0/1), results (id, 'stored'|'duplicate')..., dropped (reason, target, record)... }.
 */
export const ENQUEUE = script(`
local base = KEYS[1]
local dlq = KEYS[2] or false
local maxLength = ARGV[A] ~= '' and tonumber(ARGV[A]) or nil
local overflow = ARGV[A + 1]
local window = tonumber(ARGV[A + 2])
advance(base)
pruneDedupe(base)

local function segment(from, n)
  local items = {}
  local results = {}
  local batchIds = {}
  local fresh = 0
  local i = from
  for _ = 1, n do
    local item
    item, i = readItem(i)
    local dup = duplicateOf(base, item.d)
    if not dup and item.d then dup = batchIds[item.d] end
    if dup then
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
    -- Dropping reads the ready buckets and T:all, and may insert dead-letter copies:
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
          victim = load(base, id)
        else
          -- Claims leave an emptied bucket listed; drop it now.
          unlistBucket(base, lowest)
          lowest = redis.call('ZRANGE', PRIS[base], -1, -1)[1]
        end
      end
      if not victim then
        -- Rare: everything waiting is delayed or behind a group. T:all is in insertion order.
        local from = 0
        while not victim do
          local ids = redis.call('ZRANGE', ALL[base], from, from + 99)
          if #ids == 0 then break end
          for _, id in ipairs(ids) do
            local m = load(base, id)
            if m and m.st ~= 'i' then victim = m break end
          end
          from = from + 100
        end
      end
      if not victim then break end
      unlink(base, victim)
      deadLetterEntry(base, victim, dlq, 'overflow', false, dropped)
      left = waiting(base)
    end
    if batched then PENDING = {} end
  end
  return { 0, results, dropped }, i
end

-- Sends one by one come as scripts of one item: for those, adding to T:all and the
-- bucket at once costs fewer calls than an EXISTS plus the batched adds.
local items = 0
local j = A + 3
while j <= #ARGV and items < 2 do
  local n = tonumber(ARGV[j])
  items = items + n
  j = j + 1
  for _ = 1, n do j = j + 6 + 2 * tonumber(ARGV[j + 5]) end
end
if items > 1 then PENDING = {} end

local out = {}
local i = A + 3
while i <= #ARGV do
  out[#out + 1], i = segment(i + 1, tonumber(ARGV[i]))
end
if PENDING then flushPending() end
PENDING = nil
return finish(out)
`);

/** KEYS: every queue. ARGV from A: dedupeWindow, then items as readItem() reads them. Payload: 0. */
export const ENQUEUE_MANY = script(`
local window = tonumber(ARGV[A])
for _, base in ipairs(KEYS) do
  advance(base)
  pruneDedupe(base)
  local i = A + 1
  while i <= #ARGV do
    local item
    item, i = readItem(i)
    if not duplicateOf(base, item.d) then insert(base, item, window) end
  end
end
return finish(0)
`);

/**
 * KEYS: queue [, dead-letter queue]. ARGV from A: max, leaseMs, maxAttempts.
 * Payload: { delivered (token, record)..., deadLettered (reason, target, record)... }.
 */
export const CLAIM = script(`
local base = KEYS[1]
local dlq = KEYS[2] or false
local max = tonumber(ARGV[A])
local leaseMs = tonumber(ARGV[A + 1])
local maxAttempts = tonumber(ARGV[A + 2])
advance(base)
local delivered = {}
local dead = {}
-- Every lease of this claim ends at the same time: one ZADD for all (score, id) pairs.
local leaseEnd = NOW + leaseMs
local leases = {}
local n = 0
while n < max do
  local top = redis.call('ZRANGE', PRIS[base], 0, 0)[1]
  if not top then break end
  local want = max - n
  local popped = redis.call('ZPOPMIN', base .. ':r:' .. top, want)
  -- A bucket emptied by an earlier pop of exactly its size stays listed until now.
  if #popped < want * 2 then unlistBucket(base, top) end
  for i = 1, #popped, 2 do
    local m = loadReady(base, popped[i])
    count(base, 'ready', -1)
    m.st = 'x'
    if m.n >= maxAttempts then
      -- Only a lease that ran out on the last allowed attempt gets here: a failed
      -- handler is dead-lettered by the caller instead of released.
      unlink(base, m)
      deadLetterEntry(base, m, dlq, 'max-attempts', 'lease expired', dead)
    else
      -- A TTL in the due set is replaced by the lease end (ZADD below).
      m.n = m.n + 1
      local token = count(base, 'tok', 1)
      redis.call('HSET', base .. ':m:' .. m.id, 'n', m.n, 't', token, 'st', 'i')
      leases[#leases + 1] = leaseEnd
      leases[#leases + 1] = m.id
      count(base, 'inflight', 1)
      count(base, 'delivered', 1)
      delivered[#delivered + 1] = tostring(token)
      record(m, delivered)
      n = n + 1
    end
  end
end
if #leases > 0 then
  bulk('ZADD', DUE[base], leases)
  DUE_DIRTY[base] = true
end
return finish({ delivered, dead })
`);

/** KEYS: queue. ARGV from A: id, token pairs. Payload: a settle per pair. */
export const ACK = script(`
local base = KEYS[1]
advance(base)
local out = {}
-- unlink() of each acked message, with its three removals made once for the batch.
local seen = {}
local gone = {}
local keys = {}
for i = A, #ARGV, 2 do
  local id = ARGV[i]
  local m, why
  -- The same receipt twice in one call: the second finds it gone, as it would one by one.
  if seen[id] then why = 'missing' else m, why = leasedState(base, id, ARGV[i + 1]) end
  if m then
    seen[id] = true
    gone[#gone + 1] = id
    keys[#keys + 1] = base .. ':m:' .. id
    count(base, 'inflight', -1)
    dropFromGroup(base, m)
    count(base, 'acked', 1)
    out[#out + 1] = 'ok'
  else
    out[#out + 1] = why
  end
end
if #gone > 0 then
  -- Leased messages are always in the due set (their lease end).
  bulk('ZREM', DUE[base], gone)
  DUE_DIRTY[base] = true
  bulk('ZREM', ALL[base], gone)
  bulk('DEL', false, keys)
end
return finish(out)
`);

/** KEYS: queue. ARGV from A: id, token, dueAt. Payload: the settle. */
export const RELEASE = script(`
local base = KEYS[1]
advance(base)
local m, why = leased(base, ARGV[A], ARGV[A + 1])
if not m then return finish(why) end
dueRem(base, m.id)
count(base, 'inflight', -1)
count(base, 'retried', 1)
m.t = '0'
m.a = ARGV[A + 2]
redis.call('HSET', base .. ':m:' .. m.id, 't', 0, 'a', m.a)
reschedule(base, m)
return finish('ok')
`);

/** KEYS: queue [, target]. ARGV from A: id, token, reason, has error (0/1), error. Payload: the settle. */
export const DEAD_LETTER = script(`
local base = KEYS[1]
local target = KEYS[2] or false
advance(base)
local m, why = leased(base, ARGV[A], ARGV[A + 1])
if not m then return finish(why) end
unlink(base, m)
local err = false
if ARGV[A + 3] == '1' then err = ARGV[A + 4] end
deadLetterEntry(base, m, target, ARGV[A + 2], err, nil)
return finish('ok')
`);

/** KEYS: queue. ARGV from A: id, token, leaseUntil. Payload: the settle. */
export const EXTEND = script(`
local base = KEYS[1]
advance(base)
local m, why = leasedState(base, ARGV[A], ARGV[A + 1])
if not m then return finish(why) end
dueAdd(base, ARGV[A + 2], m.id)
return finish('ok')
`);

/** KEYS: queue. Payload: the counters in QueueStats order after ready, delayed, grouped, inflight. */
export const STATS = script(`
local base = KEYS[1]
advance(base)
local st = stats(base)
return finish({ st.ready, st.delayed, st.grouped, st.inflight, st.sent, st.delivered, st.acked, st.retried, st.dead,
  st.expired })
`);

/** KEYS: queue. Payload: how many waiting messages were removed. */
export const PURGE = script(`
local base = KEYS[1]
advance(base)
local removed = 0
for _, id in ipairs(redis.call('ZRANGE', ALL[base], 0, -1)) do
  local m = load(base, id)
  if m and m.st ~= 'i' then
    unlink(base, m)
    removed = removed + 1
  end
end
return finish(removed)
`);

/** KEYS: queue. ARGV from A: max. Payload: records in delivery order. */
export const PEEK = script(`
local base = KEYS[1]
local max = tonumber(ARGV[A])
advance(base)
local out = {}
local n = 0
for _, p in ipairs(redis.call('ZRANGE', PRIS[base], 0, -1)) do
  for _, id in ipairs(redis.call('ZRANGE', base .. ':r:' .. p, 0, max - n - 1)) do
    record(load(base, id), out)
    n = n + 1
  end
  if n >= max then break end
end
return finish(out)
`);

/** KEYS: queues. Payload: 0. */
export const TICK = script(`
for _, base in ipairs(KEYS) do advance(base) end
return finish(0)
`);
