-- settleSendPermit
-- KEYS[1] the log of the installation's recent permits (see reserve-send-permit.lua)
-- ARGV[1] the permit id
-- Returns 1 when the permit was in the log. Its message has been sent: from now on it counts from this instant
-- (Redis's clock), never earlier, so the second after the relay took it still holds it.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
return redis.call('ZADD', KEYS[1], 'XX', 'GT', 'CH', now, ARGV[1])
