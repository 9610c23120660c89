-- freezeDigest
-- KEYS[1] digest hash, KEYS[2] digest body, KEYS[3] digest web version, KEYS[4] the newsletter's carried articles
-- (hash: article id -> the digest that carries it)
-- ARGV[1] expected revision ('' accepts any), ARGV[2] digest id, ARGV[3] body JSON, ARGV[4] web JSON,
-- ARGV[5] JSON list of article ids an editor did not pin (they must not repeat another digest's),
-- ARGV[6] JSON list of every article id, ARGV[7..] hash field/value pairs (status, subject, articleIds, ...)
-- Returns {'ok', new revision}; {'conflict', id, ...} naming unpinned articles another digest already carries
-- (nothing is written: the caller drops them and renders again); or the refusal of draftGuard.
--- @include "includes/draft-guard.lua"
local refusal = draftGuard(KEYS[1], ARGV[1])
if refusal then return refusal end
local conflicts = {'conflict'}
for _, articleId in ipairs(cjson.decode(ARGV[5])) do
  local owner = redis.call('HGET', KEYS[4], articleId)
  if owner and owner ~= ARGV[2] then table.insert(conflicts, articleId) end
end
if #conflicts > 1 then return conflicts end
for _, articleId in ipairs(cjson.decode(ARGV[5])) do redis.call('HSET', KEYS[4], articleId, ARGV[2]) end
-- Pinned articles (repeats an editor chose) are claimed only when nobody holds them, so releasing this digest later
-- never frees an article an earlier digest still carries.
for _, articleId in ipairs(cjson.decode(ARGV[6])) do redis.call('HSETNX', KEYS[4], articleId, ARGV[2]) end
redis.call('SET', KEYS[2], ARGV[3])
redis.call('SET', KEYS[3], ARGV[4])
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
return {'ok', tostring(redis.call('HINCRBY', KEYS[1], 'revision', 1))}
