-- markFannedOut
-- KEYS[1] digest hash, KEYS[2] newsletter last-sent-at
-- ARGV[1] now (ISO)
-- Returns the status after the step. Records fannedOutAt once, then settles the digest if every outcome is in
-- (deliveries can finish before fan-out has enqueued its last range; a digest with no recipients settles here).
--- @include "includes/settle-if-complete.lua"
if redis.call('EXISTS', KEYS[1]) == 0 then return '' end
redis.call('HSETNX', KEYS[1], 'fannedOutAt', ARGV[1])
return settleIfComplete(KEYS[1], KEYS[2], ARGV[1]) or ''
