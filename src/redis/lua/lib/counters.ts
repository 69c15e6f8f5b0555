/** A queue's counters (T:s), read once per script and written back once by finish(). */
export const COUNTERS = `
-- Each redis.call costs about as much as the command itself, so counters are read
-- once per queue (HMGET), kept here, and written back once by finish() (HSET).
local COUNTER_FIELDS = { 'ready', 'delayed', 'grouped', 'inflight', 'sent', 'delivered', 'acked', 'retried', 'dead',
  'expired', 'seq', 'ins', 'tok', 'v', 'dd', 'pd' }
local COUNTERS = {}
local DIRTY_COUNTERS = {}
-- The earliest due time of a queue as last read (a string, or false for none), and
-- whether the due set changed since; finish() reads it again only then.
local FIRST_DUE = {}
local DUE_DIRTY = {}

local function stats(base)
  local counters = COUNTERS[base]
  if counters then return counters end
  local values = redis.call('HMGET', base .. ':s', unpack(COUNTER_FIELDS))
  counters = {}
  for i = 1, 15 do counters[COUNTER_FIELDS[i]] = tonumber(values[i]) or 0 end
  counters.pd = values[16]
  counters.heldBefore = counters.ready + counters.delayed + counters.grouped + counters.inflight
  counters.readyBefore = counters.ready
  COUNTERS[base] = counters
  DIRTY_COUNTERS[base] = {}
  return counters
end

local function count(base, field, by)
  local counters = stats(base)
  counters[field] = counters[field] + by
  DIRTY_COUNTERS[base][field] = true
  return counters[field]
end

local function waiting(base)
  local counters = stats(base)
  return counters.ready + counters.delayed + counters.grouped
end
`;
