/**
 * KEYS: queue, then the target queues. ARGV from ARGS_AT: max; the number of staying ids
 * and those ids (ready messages the client listed that have nowhere to go); then triples
 * of id, the index in KEYS of its target, and its new T:b string (made by the client: the
 * headers without the dead-letter story) for the ready messages it found movable.
 * Moves up to max of them in delivery order, as the engine does: each time the first
 * ready message that does not stay, so a group member its head's move made ready comes in
 * its turn. It stops early at a ready message the client did not list (a member made
 * ready, a message sent since): the client lists again. Payload: { moved, 1 when it
 * stopped at an unlisted message else 0 }.
 */
export const REDRIVE = `
local base = KEYS[1]
advance(base)
local max = tonumber(ARGV[ARGS_AT])
local stayCount = tonumber(ARGV[ARGS_AT + 1])
local stays = {}
for at = ARGS_AT + 2, ARGS_AT + 1 + stayCount do stays[ARGV[at]] = true end
local chosen = {}
for at = ARGS_AT + 2 + stayCount, #ARGV, 3 do chosen[ARGV[at]] = at end
-- Per priority, how many messages at the front of its bucket stay: moves take messages
-- out and a group member made ready joins at the back, so that front only grows.
local staying = {}
local moved = 0
local unlisted = 0
while moved < max do
  local found = nil
  for _, priority in ipairs(redis.call('ZRANGE', PRIS[base], 0, -1)) do
    local bucket = base .. ':r:' .. priority
    while true do
      local skip = staying[priority] or 0
      local id = redis.call('ZRANGE', bucket, skip, skip)[1]
      if not id then break end
      if not stays[id] then
        found = id
        break
      end
      staying[priority] = skip + 1
    end
    if found then break end
  end
  if not found then break end
  local at = chosen[found]
  if not at then
    unlisted = 1
    break
  end
  chosen[found] = nil
  local message = load(base, found)
  local targetBase = KEYS[tonumber(ARGV[at + 1])]
  -- What fell due in the target comes before the moved message, as for a dead-letter copy.
  if not ADVANCED[targetBase] then
    ADVANCED[targetBase] = true
    advance(targetBase)
  end
  unlink(base, message)
  insert(targetBase, { id = found, blob = ARGV[at + 2], priority = message.priority, availableAt = NOW_S, expiresAt = false,
    dedupeId = false, group = message.group }, 0)
  moved = moved + 1
end
return finish({ moved, unlisted })
`;
