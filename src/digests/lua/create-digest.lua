-- createDigest
-- KEYS[1] digest hash, KEYS[2] digest body, KEYS[3] all digests by creation, KEYS[4] the newsletter's digests,
-- KEYS[5] digest composition
-- ARGV[1] digest id, ARGV[2] creation score (ms), ARGV[3] body JSON ('' for a draft, which has none yet),
-- ARGV[4] composition JSON ('' for none), ARGV[5..] hash field/value pairs
-- Returns 1, or 0 when a digest with that id already exists (then nothing is written: an id collision never merges
-- into, or overwrites, another digest).
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
if ARGV[3] ~= '' then redis.call('SET', KEYS[2], ARGV[3]) end
if ARGV[4] ~= '' then redis.call('SET', KEYS[5], ARGV[4]) end
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1])
return 1
