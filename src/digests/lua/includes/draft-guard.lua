-- draftGuard(hashKey, expectedRevision): nil when the digest is a draft at the expected revision ('' accepts any),
-- else the refusal {reason, detail}: {'missing', ''}, {'state', status} or {'stale', current revision}.
local function draftGuard(hashKey, expectedRevision)
  local status = redis.call('HGET', hashKey, 'status')
  if not status then return {'missing', ''} end
  if status ~= 'draft' then return {'state', status} end
  local revision = redis.call('HGET', hashKey, 'revision') or '0'
  if expectedRevision ~= '' and expectedRevision ~= revision then return {'stale', revision} end
  return nil
end

-- releaseArticles(hashKey, carriedKey, digestId): forgets that this digest carries its articles, so another digest
-- of the newsletter may take them (an entry another digest owns is left alone).
local function releaseArticles(hashKey, carriedKey, digestId)
  local ids = cjson.decode(redis.call('HGET', hashKey, 'articleIds') or '[]')
  for _, articleId in ipairs(ids) do
    if redis.call('HGET', carriedKey, articleId) == digestId then redis.call('HDEL', carriedKey, articleId) end
  end
end
