-- transitionDigest
-- KEYS[1] digest hash, KEYS[2] newsletter last-sent-at
-- ARGV[1] allowed current statuses, comma-joined; ARGV[2] new status; ARGV[3] now (ISO);
-- ARGV[4] field to stamp with now ('' for none); ARGV[5] '1' to clear pausedReason and the refusal run;
-- ARGV[6] pausedReason to set ('' for none); ARGV[7] '1' to count a resume;
-- ARGV[8] a field that must hold ARGV[9] for the change to apply ('' for none: a scheduled send names its time, so a
-- digest rescheduled meanwhile is not sent by the old schedule's job)
-- Returns {previous status ('' when no digest), status after, resume count}. Changes nothing unless the current
-- status is allowed. Entering `sending` also settles a digest whose last outcomes arrived while it was paused.
--- @include "includes/settle-if-complete.lua"
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return {'', '', 0} end
local allowed = false
for s in string.gmatch(ARGV[1], '[^,]+') do if s == current then allowed = true end end
if ARGV[8] ~= '' and redis.call('HGET', KEYS[1], ARGV[8]) ~= ARGV[9] then allowed = false end
if not allowed then return {current, current, tonumber(redis.call('HGET', KEYS[1], 'resumeCount') or '0')} end
redis.call('HSET', KEYS[1], 'status', ARGV[2])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], ARGV[4], ARGV[3]) end
if ARGV[5] == '1' then
  redis.call('HDEL', KEYS[1], 'pausedReason')
  redis.call('HSET', KEYS[1], 'consecutivePermanentFailures', 0)
end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'pausedReason', ARGV[6]) end
local resumes = tonumber(redis.call('HGET', KEYS[1], 'resumeCount') or '0')
if ARGV[7] == '1' then resumes = redis.call('HINCRBY', KEYS[1], 'resumeCount', 1) end
local after = ARGV[2]
if after == 'sending' then after = settleIfComplete(KEYS[1], KEYS[2], ARGV[3]) end
return {current, after, resumes}
