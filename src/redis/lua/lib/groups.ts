/** FIFO groups (T:g:<group>) and taking a message out of every structure. */
export const GROUPS = `
-- Removes a message from its group's list; when it was the head, the next live
-- member takes its place (expired members on the way are expired).
local function dropFromGroup(base, message)
  if not message.group then return end
  local list = base .. ':g:' .. message.group
  if redis.call('LINDEX', list, 0) ~= message.id then
    redis.call('LREM', list, 1, message.id)
    return
  end
  redis.call('LPOP', list)
  while true do
    local nextId = redis.call('LINDEX', list, 0)
    if not nextId then return end
    count(base, 'grouped', -1)
    local nextMessage = load(base, nextId)
    if nextMessage.expiresAt then dueRem(base, nextId) end
    if nextMessage.expiresAt and tonumber(nextMessage.expiresAt) <= NOW then
      redis.call('LPOP', list)
      expire(base, nextMessage)
    else
      place(base, nextMessage)
      return
    end
  end
end

-- Places a message that is out of every structure (except its group's list, where it is the head).
local function reschedule(base, message)
  if message.expiresAt and tonumber(message.expiresAt) <= NOW then
    dropFromGroup(base, message)
    expire(base, message)
    return
  end
  place(base, message)
end

-- Takes a message out of every structure and the queue, keeping its group moving.
-- State 'x' is a ready message already popped from its bucket (by claim). Whoever
-- reports the message afterwards loads its T:b string first.
local function unlink(base, message)
  local state = message.state
  if state == 'd' or state == 'i' or message.expiresAt then dueRem(base, message.id) end
  if state == 'r' then removeReady(base, message)
  elseif state == 'd' then count(base, 'delayed', -1)
  elseif state == 'g' then count(base, 'grouped', -1)
  elseif state == 'i' then count(base, 'inflight', -1) end
  remove(base, message)
  dropFromGroup(base, message)
end
`;
