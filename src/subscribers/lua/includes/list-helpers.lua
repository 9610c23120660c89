-- Shared Lua helpers: split a comma list; map the newsletter ids of ARGV[n] to the bitmap keys from KEYS[first].
local function splitList(value)
  local list = {}
  if value and value ~= '' then
    for item in string.gmatch(value, '[^,]+') do list[#list + 1] = item end
  end
  return list
end
local function bitmapKeys(newsletterIds, firstKey)
  local keys = {}
  for i, nl in ipairs(splitList(newsletterIds)) do keys[nl] = KEYS[firstKey + i - 1] end
  return keys
end
local function hasEveryKey(keys, newsletters)
  for _, nl in ipairs(splitList(newsletters)) do
    if not keys[nl] then return false end
  end
  return true
end
