-- reserveSendPermit
-- KEYS[1] the send-rate limits hash (field `*`: messages per second for the whole installation; field
--   `domain:<name>`: messages per second to one recipient domain), KEYS[2] the next free instant of the
--   installation's schedule, KEYS[3] the next free instant of the recipient domain's schedule, KEYS[4] the log of
--   the installation's recent permits (sorted set: permit id scored by its instant, or by when its message was sent)
-- ARGV[1] the configured rate (messages per second; '' or '0' = unlimited) used while the hash sets none,
-- ARGV[2] the recipient domain ('' = none), ARGV[3] how far ahead a permit may be reserved (ms), ARGV[4] the permit id,
-- ARGV[5] the ceiling's margin over the rate (a fraction, e.g. 0.04)
-- Returns {granted (0|1), wait (ms, a decimal string), logged (0|1), stored limits}. Granted: the permit is reserved
-- for now + wait, and the caller sends after waiting that long; logged: it is in the log (settle it once sent).
-- Not granted: nothing is reserved; ask again after `wait` ms. Stored limits: how many rates the hash holds (0 with
-- no configured rate means nothing is limited at all).
--
-- Time is Redis's own (TIME), so workers on hosts whose clocks disagree share one schedule. Every permit takes the
-- next free instant of the schedule (a reservation, not a bucket of tokens): permits are spaced 1/rate apart and no
-- burst forms while workers wait. Messages reach the relay a little after their instant, and a worker that stalls
-- sends late; so the log keeps each permit until a second after its message was sent (settle-send-permit.lua moves
-- its score), and a permit is placed where fewer than rate × (1 + margin) of them fall within the second before it.
-- That is what holds any second of arrivals at the relay under that ceiling, whatever the delays (as long as a send
-- takes under ~3/4 s). The margin lets the spacing alone set the pace while messages arrive on time (counting each
-- until a second after its answer would otherwise cost the rate about the answer's delay).
-- A domain's limit grants only when its next instant has come, and spaces the next one from this permit's instant.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local domain = ARGV[2]
local limits = redis.call('HMGET', KEYS[1], '*', 'domain:' .. domain)
local rate = tonumber(limits[1]) or tonumber(ARGV[1]) or 0
local domainRate = 0
if domain ~= '' then domainRate = tonumber(limits[2]) or 0 end
local horizon = tonumber(ARGV[3])
if rate <= 0 and domainRate <= 0 then return {1, '0', 0, redis.call('HLEN', KEYS[1])} end

if domainRate > 0 then
  local domainNext = tonumber(redis.call('GET', KEYS[3]) or '0') or 0
  if domainNext > now then return {0, tostring(domainNext - now)} end
end

local at = now
if rate > 0 then
  local next = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
  if next > at then at = next end
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - 5000)
  local limit = math.max(1, math.floor(rate * (1 + tonumber(ARGV[5]))))
  local inWindow = redis.call('ZCOUNT', KEYS[4], '(' .. (at - 1000), '+inf')
  if inWindow >= limit then
    -- Move the permit to where the oldest ones have left its second.
    local oldest = redis.call('ZRANGEBYSCORE', KEYS[4], '(' .. (at - 1000), '+inf', 'WITHSCORES', 'LIMIT',
      inWindow - limit, 1)
    at = tonumber(oldest[2]) + 1000
  end
  if at - now > horizon then return {0, tostring(at - now - horizon)} end
  local following = at + 1000 / rate
  redis.call('SET', KEYS[2], tostring(following), 'PX', math.ceil(following - now) + 1000)
  redis.call('ZADD', KEYS[4], at, ARGV[4])
  redis.call('PEXPIRE', KEYS[4], math.ceil(at - now) + 5000)
end
if domainRate > 0 then
  local following = at + 1000 / domainRate
  redis.call('SET', KEYS[3], tostring(following), 'PX', math.ceil(following - now) + 1000)
end
local logged = 0
if rate > 0 then logged = 1 end
return {1, tostring(at - now), logged, 1}
