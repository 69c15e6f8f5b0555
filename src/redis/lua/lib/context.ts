/** What every call gets: the arguments, the queues it touches and their key names, the operation. */
export const CONTEXT = `
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
-- The operation to run (see OPERATIONS), and where its own arguments start in ARGV.
local OPERATION = ARGV[4 + #KEYS]
local ARGS_AT = 5 + #KEYS
`;
