-- unfreezeDigest
-- KEYS[1] digest hash, KEYS[2] digest body, KEYS[3] digest web version, KEYS[4] the newsletter's carried articles
-- ARGV[1] allowed current statuses, comma-joined; ARGV[2] digest id; ARGV[3] the status after ('draft' to edit again,
-- 'cancelled' to withdraw); ARGV[4] who (stored as updatedBy)
-- Returns the status before ('' when no digest). Only from an allowed status: back to a draft drops the frozen body
-- and web version and the schedule; either way the digest's articles are released for other digests.
--- @include "includes/draft-guard.lua"
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return '' end
local allowed = false
for s in string.gmatch(ARGV[1], '[^,]+') do if s == current then allowed = true end end
if not allowed then return current end
releaseArticles(KEYS[1], KEYS[4], ARGV[2])
redis.call('HSET', KEYS[1], 'status', ARGV[3], 'updatedBy', ARGV[4])
if ARGV[3] == 'draft' then
  redis.call('DEL', KEYS[2], KEYS[3])
  redis.call('HDEL', KEYS[1], 'scheduledFor', 'frozenAt', 'htmlBytes')
end
redis.call('HINCRBY', KEYS[1], 'revision', 1)
return current
