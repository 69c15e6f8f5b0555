/** Storing a new message (a send or a dead-letter copy). */
export const INSERT = `
-- item: { id, blob, priority, availableAt, expiresAt, dedupeId, group } with false for absent fields.
local function insert(base, item, window)
  local id = item.id
  local insertion = count(base, 'ins', 1)
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
  if item.dedupeId then
    redis.call('HSET', base .. ':dd', item.dedupeId, id)
    count(base, 'dd', redis.call('ZADD', base .. ':ddx', NOW + window, item.dedupeId))
  end
  item.state = 'r'
  item.attempt = 0
  item.token = '0'
  item.insertion = insertion
  item.fresh = true
  if not item.group or redis.call('RPUSH', base .. ':g:' .. item.group, id) == 1 then
    reschedule(base, item)
  else
    item.state = 'g'
    count(base, 'grouped', 1)
    if item.expiresAt then dueAdd(base, item.expiresAt, id) end
  end
  item.fresh = nil
  if item.gone then
    if stored then redis.call('HDEL', BLOB[base], id) end
    return id
  end
  if PENDING then
    addLater('HSET', META[base], id, stateString(item))
    addLater('HSET', BLOB[base], id, item.blob)
  else
    redis.call('HSET', META[base], id, stateString(item))
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
`;
