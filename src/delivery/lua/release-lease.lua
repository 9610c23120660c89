-- releaseLease
-- KEYS[1] the range's lease
-- ARGV[1] the releasing runner's token
-- Returns 1 when the lease was this runner's and is gone now, else 0 (a newer runner's lease is left alone).
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
