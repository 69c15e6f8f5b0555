/** How the client passes the messages of a send in ARGV (see encodeItems in ../../record-codec.ts). */
export const ITEM_LIST = `
-- Items come in lists: a count n, then n items. An item is its id, its T:b string,
-- priority, availableAt, then how many optional fields follow and each as its name and
-- value (expiresAt, dedupeId, group). A count of -n says the n items are plain:
-- priority 0, available now, no optional field, so each is only its id and T:b string.

-- Reads the item at i (plain or not). Returns it and where the next starts.
local function readItem(i, plain)
  -- Made with every field insert() sets, so that the table never grows.
  if plain then
    return { id = ARGV[i], blob = ARGV[i + 1], priority = '0', availableAt = NOW_S, expiresAt = false, dedupeId = false, group = false,
      state = 'r', attempt = 0, token = '0', insertion = 0, fresh = true }, i + 2
  end
  local item = { id = ARGV[i], blob = ARGV[i + 1], priority = ARGV[i + 2], availableAt = ARGV[i + 3], expiresAt = false, dedupeId = false, group = false,
    state = 'r', attempt = 0, token = '0', insertion = 0, fresh = true }
  local j = i + 5
  for _ = 1, tonumber(ARGV[i + 4]) do
    item[ARGV[j]] = ARGV[j + 1]
    j = j + 2
  end
  return item, j
end

-- Reads the count of the list at i: how many items, whether they are plain, where the first starts.
local function readCount(i)
  local itemCount = tonumber(ARGV[i])
  if itemCount < 0 then return -itemCount, true, i + 1 end
  return itemCount, false, i + 1
end

-- Appends the ids of the list at i to ids; returns where the list ends.
local function listIds(i, ids)
  local itemCount, plain
  itemCount, plain, i = readCount(i)
  for _ = 1, itemCount do
    ids[#ids + 1] = ARGV[i]
    if plain then i = i + 2 else i = i + 5 + 2 * tonumber(ARGV[i + 4]) end
  end
  return i
end
`;
