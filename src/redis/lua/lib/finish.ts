/** The end of every operation: counters written back, due times reported and announced. */
export const FINISH = `
local function finish(payload)
  local queues = {}
  for _, base in ipairs(TOUCHED) do
    local counters = stats(base)
    local version = count(base, 'v', 1)
    local due = FIRST_DUE[base]
    if due == nil or DUE_DIRTY[base] then
      due = redis.call('ZRANGE', DUE[base], 0, 0, 'WITHSCORES')[2] or false
    end
    -- The earliest due time announced so far ('pd' in T:s).
    local announcedDue = counters.pd
    local announce = ''
    if due and (not announcedDue or tonumber(due) < tonumber(announcedDue) or tonumber(announcedDue) <= NOW) then
      counters.pd = due
      DIRTY_COUNTERS[base].pd = true
      announce = due
    elseif not due and announcedDue and tonumber(announcedDue) <= NOW then
      redis.call('HDEL', base .. ':s', 'pd')
    end
    local args = {}
    for field in pairs(DIRTY_COUNTERS[base]) do
      args[#args + 1] = field
      args[#args + 1] = counters[field]
    end
    redis.call('HSET', base .. ':s', unpack(args))
    -- A queue that just became empty wakes its waiters too: idle() in other processes waits for that.
    local drained = counters.heldBefore > 0 and counters.ready + counters.delayed + counters.grouped + counters.inflight == 0
    local ready = (READY[base] or drained) and '1' or '0'
    -- Other processes only need waking when nothing was ready before: a consumer waits only
    -- after a claim found nothing, and every later change from none to some is announced.
    local wake = drained or (READY[base] and counters.readyBefore == 0)
    if announce ~= '' or wake then
      redis.call('PUBLISH', CHANNEL, SELF .. '|' .. NAME[base] .. '|' .. version .. '|' .. (wake and '1' or '0') .. '|' .. announce)
    end
    queues[#queues + 1] = NAME[base]
    queues[#queues + 1] = version
    queues[#queues + 1] = due
    queues[#queues + 1] = ready
  end
  return { payload, queues, EXPIRED }
end
`;
