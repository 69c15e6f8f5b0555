/** Moving a message to its dead-letter queue, or nowhere. */
export const DEAD_LETTER_ENTRY = `
-- Moves a message (already unlinked, its T:b string loaded) to targetBase, or nowhere
-- when it is false; appends what left to 'out' as reason, target name (or false), record.
-- The copy's T:b string is the original's with enqueuedAt, headers and dedupeId replaced
-- (its first three lines, see encodeRecord in ../../record-codec.ts).
-- Defined below; deadLetterEntry brings a target queue up to NOW with it.
local advance
-- Target queues this script has brought up to NOW.
local ADVANCED = {}
local function deadLetterEntry(base, message, targetBase, reason, err, out)
  count(base, 'dead', 1)
  if targetBase then
    -- What fell due in the target while no script touched it becomes ready before the
    -- copy arrives, as it would have had a tick come first: FIFO within a priority.
    if not ADVANCED[targetBase] then
      ADVANCED[targetBase] = true
      advance(targetBase)
    end
    local blob = message.blob
    local enqueuedAtEnd = string.find(blob, '\\n', 1, true)
    local headersEnd = string.find(blob, '\\n', enqueuedAtEnd + 1, true)
    local dedupeIdEnd = string.find(blob, '\\n', headersEnd + 1, true)
    local story = { ['x-dead-reason'] = reason, ['x-original-queue'] = NAME[base], ['x-attempts'] = tostring(message.attempt),
      ['x-dead-at'] = NOW_S }
    if err then story['x-dead-error'] = err end
    -- The headers are appended to, never decoded: cjson refuses some JSON that JSON.parse
    -- takes (an escaped lone surrogate), and a script that fails halfway keeps what it did.
    -- A key given twice is read as its last value, so the new story replaces an old one.
    local headers = cjson.encode(story)
    if headersEnd > enqueuedAtEnd + 1 then
      local own = string.sub(blob, enqueuedAtEnd + 1, headersEnd - 1)
      if own ~= '{}' then headers = string.sub(own, 1, -2) .. ',' .. string.sub(headers, 2) end
    end
    local copy = NOW_S .. '\\n' .. headers .. '\\n' .. string.sub(blob, dedupeIdEnd)
    insert(targetBase, { id = message.id, blob = copy, priority = message.priority, availableAt = NOW_S, expiresAt = false, dedupeId = false, group = message.group }, 0)
  end
  if out then
    out[#out + 1] = reason
    out[#out + 1] = targetBase and NAME[targetBase] or false
    record(message, out)
  end
end
`;
