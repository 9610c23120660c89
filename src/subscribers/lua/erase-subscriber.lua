-- eraseSubscriber
-- KEYS[1] subscriberByEmail hash, KEYS[2] the subscriber hash, KEYS[3] pending-requests sorted set,
-- KEYS[4] the address's soft-bounce sorted set, KEYS[5..] active bitmaps of every configured newsletter and of every
-- newsletter the record named when the caller read it
-- ARGV[1] lower-cased email, ARGV[2] subscriber id ('' when the caller found none)
-- Returns -1 (retry, nothing written) when the address now maps to another id, else the number of keys or fields
-- removed. Removes the record, its address index entry, its active bits, its pending request and its soft-bounce
-- count. The suppression hash is left alone: a suppressed address stays suppressed, by its keyed hash only.
local mapped = redis.call('HGET', KEYS[1], ARGV[1])
if (mapped or '') ~= ARGV[2] then return -1 end
local removed = redis.call('DEL', KEYS[4])
if ARGV[2] == '' then return removed end
local id = tonumber(ARGV[2])
for i = 5, #KEYS do redis.call('SETBIT', KEYS[i], id, 0) end
removed = removed + redis.call('HDEL', KEYS[1], ARGV[1])
removed = removed + redis.call('DEL', KEYS[2])
removed = removed + redis.call('ZREM', KEYS[3], ARGV[2])
return removed
