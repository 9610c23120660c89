-- recordOutcome
-- KEYS[1] digest hash, KEYS[2] recipients bitmap, KEYS[3] sent, KEYS[4] failed, KEYS[5] skipped bitmaps,
-- KEYS[6] failures hash, KEYS[7] newsletter last-sent-at, KEYS[8] the installation's delivery totals hash (metrics)
-- ARGV[1] subscriber id, ARGV[2] outcome (delivered|failed|skipped), ARGV[3] reason, ARGV[4] now (ISO),
-- ARGV[5] '1' when the failure counts towards pausing, ARGV[6] pause threshold, ARGV[7] pause reason,
-- ARGV[8] the totals field to count (`<metric outcome>|<reply class>`)
-- Returns {recorded (0|1), status}. Sets the outcome bit only if the id is a recipient and has no outcome yet, then
-- HINCRBYs the matching counter and, in the same step, the installation's delivery total (so the metrics equal the
-- ledger exactly, whichever worker on whichever host recorded it); keeps the run of consecutive non-mailbox
-- refusals (reset by a delivery) and pauses a sending digest when it reaches the threshold; settles the digest when
-- this was the last outcome.
--- @include "includes/settle-if-complete.lua"
local id = tonumber(ARGV[1])
if redis.call('GETBIT', KEYS[2], id) == 0
  or redis.call('GETBIT', KEYS[3], id) == 1
  or redis.call('GETBIT', KEYS[4], id) == 1
  or redis.call('GETBIT', KEYS[5], id) == 1 then
  return {0, redis.call('HGET', KEYS[1], 'status') or ''}
end
local target = KEYS[3]
if ARGV[2] == 'failed' then target = KEYS[4] elseif ARGV[2] == 'skipped' then target = KEYS[5] end
redis.call('SETBIT', target, id, 1)
redis.call('HINCRBY', KEYS[1], ARGV[2], 1)
redis.call('HINCRBY', KEYS[8], ARGV[8], 1)
if ARGV[2] == 'failed' then redis.call('HSET', KEYS[6], ARGV[1], ARGV[3]) end
if ARGV[5] == '1' then
  local run = redis.call('HINCRBY', KEYS[1], 'consecutivePermanentFailures', 1)
  if run >= tonumber(ARGV[6]) and redis.call('HGET', KEYS[1], 'status') == 'sending' then
    redis.call('HSET', KEYS[1], 'status', 'paused', 'pausedReason', ARGV[7])
  end
elseif ARGV[2] == 'delivered' then
  redis.call('HSET', KEYS[1], 'consecutivePermanentFailures', 0)
end
return {1, settleIfComplete(KEYS[1], KEYS[7], ARGV[4]) or ''}
