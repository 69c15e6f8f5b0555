/** A queue's counters (T:s), read once per script and written back once by finish(). */
export const COUNTERS = `
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

local function waiting(base)
  local st = stats(base)
  return st.ready + st.delayed + st.grouped
end
`;
