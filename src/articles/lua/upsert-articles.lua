-- Upserts N articles in one atomic step, keeping each article with the source that created it and never letting an
-- older version replace a newer one.
-- KEYS[1]      sorted set of article ids scored by publication time (ms)
-- KEYS[2]      hash: article id -> "<version ms or empty>|<source>" (who created it, which version is stored)
-- KEYS[2 + i]  the article key of article i (i = 1..N)
-- ARGV[6i-5]   article id; ARGV[6i-4] score; ARGV[6i-3] content hash; ARGV[6i-2] article JSON;
-- ARGV[6i-1]   source; ARGV[6i] version time in ms, or '' when the source states no date
-- Returns {ingested, updated, unchanged, {outdated ids}, {collided id, owning source, ...}}.
-- An article whose stored JSON carries the same contentHash is left as it is (so an undated item keeps the date it
-- was first seen with), whichever source sends it. A changed article is refused when another source created it
-- (a collision), or when both versions are dated and the stored one is newer (outdated); otherwise it is replaced.
local ingested, updated, unchanged = 0, 0, 0
local outdated, collided = {}, {}
local index, provenance = KEYS[1], KEYS[2]
local n = #KEYS - 2

-- Owner and stored version of an existing article; articles stored before provenance was kept name their source in
-- their own JSON (version unknown).
local function provenanceOf(id, existing)
  local record = redis.call('HGET', provenance, id)
  if record then
    local version, source = string.match(record, '^(%d*)|(.*)$')
    return source, tonumber(version)
  end
  local ok, decoded = pcall(cjson.decode, existing)
  if ok and type(decoded) == 'table' and type(decoded.source) == 'string' then return decoded.source, nil end
  return nil, nil
end

local function store(key, id, score, json, source, version)
  redis.call('SET', key, json)
  redis.call('ZADD', index, score, id)
  redis.call('HSET', provenance, id, version .. '|' .. source)
end

for i = 1, n do
  local key = KEYS[2 + i]
  local id = ARGV[6 * i - 5]
  local score = ARGV[6 * i - 4]
  local hash = ARGV[6 * i - 3]
  local json = ARGV[6 * i - 2]
  local source = ARGV[6 * i - 1]
  local version = ARGV[6 * i]
  local existing = redis.call('GET', key)
  if not existing then
    store(key, id, score, json, source, version)
    ingested = ingested + 1
  elseif string.find(existing, '"contentHash":"' .. hash .. '"', 1, true) then
    unchanged = unchanged + 1
  else
    local owner, storedVersion = provenanceOf(id, existing)
    local incoming = tonumber(version)
    if owner ~= nil and owner ~= source then
      collided[#collided + 1] = id
      collided[#collided + 1] = owner
    elseif incoming ~= nil and storedVersion ~= nil and incoming < storedVersion then
      outdated[#outdated + 1] = id
    else
      store(key, id, score, json, source, version)
      updated = updated + 1
    end
  end
end
return {ingested, updated, unchanged, outdated, collided}
