-- clearRequest
-- KEYS[1] the subscriber hash, KEYS[2] pending-requests sorted set
-- ARGV[1] subscriber id, ARGV[2] the 'requestedAt' the caller read, ARGV[3] the 'requested' list the caller read
-- Returns 1 when the confirmed request was cleared, 0 when a newer request arrived meanwhile (left for its own
-- confirmation) or there is none.
local current = redis.call('HMGET', KEYS[1], 'requestedAt', 'requested')
if not current[1] or current[1] ~= ARGV[2] or (current[2] or '') ~= ARGV[3] then return 0 end
redis.call('HDEL', KEYS[1], 'requestedAt', 'requested')
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
