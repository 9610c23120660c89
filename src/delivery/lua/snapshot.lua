-- snapshotRecipients
-- KEYS[1] digest hash, KEYS[2] newsletter active bitmap, KEYS[3] recipients bitmap
-- ARGV[1] batch size to use unless one is already recorded
-- Returns {recipients, batchSize}. The first call copies the active bitmap (COPY without REPLACE) and materialises
-- the snapshot with bit 0 (never a subscriber id) so an empty snapshot also exists; later calls change nothing. The
-- recipients counter is the snapshot's BITCOUNT; the batch size is recorded once so re-runs cut the same ranges.
if redis.call('EXISTS', KEYS[3]) == 0 then
  redis.call('COPY', KEYS[2], KEYS[3])
  redis.call('SETBIT', KEYS[3], 0, 0)
end
local count = redis.call('BITCOUNT', KEYS[3])
redis.call('HSET', KEYS[1], 'recipients', count)
redis.call('HSETNX', KEYS[1], 'batchSize', ARGV[1])
return {count, tonumber(redis.call('HGET', KEYS[1], 'batchSize'))}
