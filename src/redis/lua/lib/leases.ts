/** Leases: checking a receipt, claiming ready messages, acking. */
export const LEASES = `
-- The message a lease belongs to if the lease is current, else 'stale' or 'missing'.
local function leased(base, id, token, withBlob)
  local message = load(base, id, withBlob)
  if not message then return nil, 'missing' end
  if message.state ~= 'i' or message.token ~= token then return nil, 'stale' end
  return message, nil
end

-- The lease check of ack and extend on a T:m string (or false): nil when the lease is
-- current, else 'stale' or 'missing'; then the message's group (false for none).
local function leaseCheck(meta, token)
  if not meta then return 'missing', false end
  local state, current, group = string.match(meta, '^(%a)|%d+|(%d+)|[^|]*|%d+|[^|]*|[^|]*|(.*)$')
  if state ~= 'i' or current ~= token then return 'stale', false end
  return nil, group ~= '' and group
end

-- Leases up to max ready messages, in priority then FIFO order; a message whose lease ran
-- out on its last allowed attempt is dead-lettered instead. Returns { delivered records,
-- dead-lettered entries }; a delivered record's T:m string carries its lease token.
-- The hot path (every message) rewrites the start of each T:m string and counts in locals:
-- a table, a parse or a count() per message costs as much as a Redis command here.
local function claimUpTo(base, dlq, max, leaseMs, maxAttempts)
  local delivered = {}
  local deliveredLength = 0
  local dead = {}
  -- Every lease of this claim ends at the same time: one ZADD for all (score, id) pairs,
  -- and one HSET for all the new T:m strings.
  local leaseEnd = NOW + leaseMs
  local leases = {}
  local metas = {}
  local leaseLength = 0
  local leasedCount = 0
  local popped = 0
  local counters = stats(base)
  while leasedCount < max do
    local top = redis.call('ZRANGE', PRIS[base], 0, 0)[1]
    if not top then break end
    local want = max - leasedCount
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
        local message = parse(id, found[k])
        message.blob = blobs[k]
        message.state = 'x'
        unlink(base, message)
        deadLetterEntry(base, message, dlq, 'max-attempts', 'lease expired', dead)
        -- Its group's next member may now be ready at a higher priority than the rest of
        -- this batch: the rest goes back, and the buckets are looked at again.
        if message.group and k < #ids then
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
        counters.tok = counters.tok + 1
        local meta = 'i|' .. (attempts + 1) .. '|' .. counters.tok .. '|' .. rest
        metas[leaseLength + 1] = id
        metas[leaseLength + 2] = meta
        leases[leaseLength + 1] = leaseEnd
        leases[leaseLength + 2] = id
        leaseLength = leaseLength + 2
        delivered[deliveredLength + 1] = id
        delivered[deliveredLength + 2] = blobs[k]
        delivered[deliveredLength + 3] = meta
        deliveredLength = deliveredLength + 3
        leasedCount = leasedCount + 1
      end
    end
  end
  if popped > 0 then count(base, 'ready', -popped) end
  if leasedCount > 0 then
    DIRTY_COUNTERS[base].tok = true
    count(base, 'inflight', leasedCount)
    count(base, 'delivered', leasedCount)
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
          dropFromGroup(base, { id = id, group = group })
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
`;
