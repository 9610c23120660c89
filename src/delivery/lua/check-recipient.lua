-- checkRecipient
-- KEYS[1] digest hash, KEYS[2] newsletter active bitmap, KEYS[3] sent, KEYS[4] failed, KEYS[5] skipped bitmaps,
-- KEYS[6] the range's lease
-- ARGV[1] subscriber id, ARGV[2] the checking runner's lease token
-- Returns {status, active (0|1), settled (0|1), lease held (0|1)}: the O(1) check made right before each send.
local id = tonumber(ARGV[1])
local settled = 0
if redis.call('GETBIT', KEYS[3], id) == 1 or redis.call('GETBIT', KEYS[4], id) == 1
  or redis.call('GETBIT', KEYS[5], id) == 1 then settled = 1 end
local held = 0
if redis.call('GET', KEYS[6]) == ARGV[2] then held = 1 end
return {redis.call('HGET', KEYS[1], 'status') or '', redis.call('GETBIT', KEYS[2], id), settled, held}
