-- Upserts N articles in one atomic step.
-- KEYS[1]      sorted set of article ids scored by publication time (ms)
-- KEYS[1 + i]  the article key of article i (i = 1..N)
-- ARGV[4i-3]   article id; ARGV[4i-2] score; ARGV[4i-1] content hash; ARGV[4i] article JSON
-- Returns {ingested, updated, unchanged}. An article whose stored JSON carries the same contentHash is left as it
-- is (so an undated item keeps the date it was first seen with); otherwise the JSON and the score are replaced.
local ingested, updated, unchanged = 0, 0, 0
local n = #KEYS - 1
for i = 1, n do
  local key = KEYS[1 + i]
  local id = ARGV[4 * i - 3]
  local score = ARGV[4 * i - 2]
  local hash = ARGV[4 * i - 1]
  local json = ARGV[4 * i]
  local existing = redis.call('GET', key)
  if not existing then
    redis.call('SET', key, json)
    redis.call('ZADD', KEYS[1], score, id)
    ingested = ingested + 1
  elseif string.find(existing, '"contentHash":"' .. hash .. '"', 1, true) then
    unchanged = unchanged + 1
  else
    redis.call('SET', key, json)
    redis.call('ZADD', KEYS[1], score, id)
    updated = updated + 1
  end
end
return {ingested, updated, unchanged}
