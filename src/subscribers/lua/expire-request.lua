-- expireRequest
-- KEYS[1] subscriberByEmail hash, KEYS[2] the subscriber hash, KEYS[3] pending-requests sorted set
-- ARGV[1] subscriber id, ARGV[2] the record's lower-cased email as the caller read it, ARGV[3] cut-off (ms): requests
-- made at or before it have expired
-- Returns 'purged' (a pending record nobody confirmed: deleted with its address), 'expired' (an active or
-- unsubscribed reader's request forgotten), or 'kept' (renewed since, or gone).
local score = redis.call('ZSCORE', KEYS[3], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[3]) then return 'kept' end
redis.call('ZREM', KEYS[3], ARGV[1])
local status = redis.call('HGET', KEYS[2], 'status')
if status == 'pending' then
  redis.call('DEL', KEYS[2])
  if redis.call('HGET', KEYS[1], ARGV[2]) == ARGV[1] then redis.call('HDEL', KEYS[1], ARGV[2]) end
  return 'purged'
end
if not status then return 'kept' end
redis.call('HDEL', KEYS[2], 'requestedAt', 'requested')
return 'expired'
