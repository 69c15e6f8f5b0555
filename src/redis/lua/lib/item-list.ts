/** How the client passes the messages of a send in ARGV (see encodeItems in ../../record-codec.ts). */
export const ITEM_LIST = `
-- Items come in lists: a count n, then n items. An item is its id, its T:b string,
-- priority, availableAt, then how many optional fields follow and each as its name and
-- value (expiresAt, dedupeId, group). A count of -n says the n items are plain:
-- priority 0, available now, no optional field, so each is only its id and T:b string.

-- Reads the item at ARGV[at] (plain or not). Returns it and where the next starts.
local function readItem(at, plain)
  -- Made with every field insert() sets, so that the table never grows.
  if plain then
    return { id = ARGV[at], blob = ARGV[at + 1], priority = '0', availableAt = NOW_S, expiresAt = false, dedupeId = false, group = false,
      state = 'r', attempt = 0, token = '0', insertion = 0, fresh = true }, at + 2
  end
  local item = { id = ARGV[at], blob = ARGV[at + 1], priority = ARGV[at + 2], availableAt = ARGV[at + 3], expiresAt = false, dedupeId = false, group = false,
    state = 'r', attempt = 0, token = '0', insertion = 0, fresh = true }
  local fieldAt = at + 5
  for _ = 1, tonumber(ARGV[at + 4]) do
    item[ARGV[fieldAt]] = ARGV[fieldAt + 1]
    fieldAt = fieldAt + 2
  end
  return item, fieldAt
end

-- Reads the count of the list at ARGV[at]: how many items, whether they are plain, where the first starts.
local function readCount(at)
  local itemCount = tonumber(ARGV[at])
  if itemCount < 0 then return -itemCount, true, at + 1 end
  return itemCount, false, at + 1
end

-- Appends the ids of the list at ARGV[at] to ids; returns where the list ends.
local function listIds(at, ids)
  local itemCount, plain
  itemCount, plain, at = readCount(at)
  for _ = 1, itemCount do
    ids[#ids + 1] = ARGV[at]
    if plain then at = at + 2 else at = at + 5 + 2 * tonumber(ARGV[at + 4]) end
  end
  return at
end
`;
