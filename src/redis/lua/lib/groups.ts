/** FIFO groups (T:g:<group>) and taking a message out of every structure. */
export const GROUPS = `
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
`;
