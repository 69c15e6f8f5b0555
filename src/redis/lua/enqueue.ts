/**
 * KEYS: queue [, dead-letter queue for drop-oldest]. ARGV from ARGS_AT: maxLength ('' for
 * none), overflow, dedupeWindow, then one or more segments, each a list of items
 * (readCount, readItem). Each segment is one `enqueue()` call (the client merges the
 * calls of one tick), applied in order, each all or nothing.
 * Payload per segment: 0 when every item was stored and nothing dropped (the usual case,
 * kept short), else { full (0/1), results (id, 'stored'|'duplicate')..., dropped (reason, target, record)... }.
 */
export const ENQUEUE = `
local base = KEYS[1]
local dlq = KEYS[2] or false
local maxLength = ARGV[ARGS_AT] ~= '' and tonumber(ARGV[ARGS_AT]) or nil
local overflow = ARGV[ARGS_AT + 1]
local window = tonumber(ARGV[ARGS_AT + 2])
advance(base)
pruneDedupe(base)

local function segment(from)
  local itemCount, plainItems, at = readCount(from)
  if plainItems and not maxLength then
    -- Plain items have no dedupeId and nothing bounds the queue: each is stored as it is.
    for _ = 1, itemCount do
      local item
      item, at = readItem(at, true)
      insert(base, item, window)
    end
    return 0, at
  end
  local items = {}
  local results = {}
  local batchIds = {}
  local fresh = 0
  local plain = true
  for _ = 1, itemCount do
    local item
    item, at = readItem(at, plainItems)
    local duplicate = duplicateOf(base, item.dedupeId)
    if not duplicate and item.dedupeId then duplicate = batchIds[item.dedupeId] end
    if duplicate then
      plain = false
      results[#results + 1] = duplicate
      results[#results + 1] = 'duplicate'
    else
      results[#results + 1] = item.id
      results[#results + 1] = 'stored'
      fresh = fresh + 1
      -- Items of one batch are stored at the same now: within the window of each other only when it is not 0.
      if item.dedupeId and window > 0 then batchIds[item.dedupeId] = item.id end
      items[#items + 1] = item
    end
  end
  if maxLength and overflow == 'reject' and waiting(base) + fresh > maxLength then
    return { 1, {}, {} }, at
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
          local message = parse(all[k], all[k + 1])
          if message.state ~= 'i' and (not oldest or tonumber(message.insertion) < tonumber(oldest.insertion)) then oldest = message end
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
  if plain and #dropped == 0 then return 0, at end
  return { 0, results, dropped }, at
end

-- Several sends (the calls of one tick, merged) are inserted as a batch: one look at
-- which ids are taken, and one command per hash and bucket for all of them.
local ids = {}
local listAt = ARGS_AT + 3
while listAt <= #ARGV do listAt = listIds(listAt, ids) end
if #ids > 1 then
  PENDING = {}
  knowTaken(base, ids)
end

local out = {}
local segmentAt = ARGS_AT + 3
while segmentAt <= #ARGV do
  out[#out + 1], segmentAt = segment(segmentAt)
end
if PENDING then flushPending() end
PENDING = nil
return finish(out)
`;

/** KEYS: every queue. ARGV from ARGS_AT: dedupeWindow, then a list of items (readCount, readItem). Payload: 0. */
export const ENQUEUE_MANY = `
local window = tonumber(ARGV[ARGS_AT])
local ids = {}
listIds(ARGS_AT + 1, ids)
for _, base in ipairs(KEYS) do
  advance(base)
  pruneDedupe(base)
  if #ids > 1 then
    PENDING = {}
    knowTaken(base, ids)
  end
  local itemCount, plain, at = readCount(ARGS_AT + 1)
  for _ = 1, itemCount do
    local item
    item, at = readItem(at, plain)
    if not duplicateOf(base, item.dedupeId) then insert(base, item, window) end
  end
  if PENDING then flushPending() end
  PENDING = nil
end
return finish(0)
`;
