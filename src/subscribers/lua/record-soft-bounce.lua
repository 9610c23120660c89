-- recordSoftBounce
-- KEYS[1] the address's soft-bounce sorted set (event id scored by time, ms)
-- ARGV[1] event id (a provider's id makes a retried webhook count once), ARGV[2] now (ms), ARGV[3] window (ms)
-- Returns how many soft bounces the address had within the window, this one included. Older ones are dropped and
-- the set expires with the window.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[2]) - tonumber(ARGV[3]))
redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return redis.call('ZCARD', KEYS[1])
