-- reserveSendPermit
-- KEYS[1] the send-rate limits hash (field `*`: messages per second for the whole installation; field
--   `domain:<name>`: messages per second to one recipient domain), KEYS[2] the next free instant of the
--   installation's schedule, KEYS[3] the next free instant of the recipient domain's schedule
-- ARGV[1] the configured rate (messages per second; '' or '0' = unlimited) used while the hash sets none,
-- ARGV[2] the recipient domain ('' = none), ARGV[3] how far ahead a permit may be reserved (ms)
-- Returns {granted (0|1), wait (ms, a decimal string)}. Granted: the permit is reserved for now + wait, and the caller
-- sends after waiting that long. Not granted: nothing is reserved; ask again after `wait` ms.
-- Time is Redis's own (TIME), so workers on hosts whose clocks disagree share one schedule. Every permit takes the
-- next free instant of the schedule (reservation, not a bucket of tokens): permits are spaced exactly 1/rate apart,
-- so no burst can form while workers wait. A domain's limit grants only when its next instant has come, and then
-- spaces the domain's next one from the instant this permit was given in the installation's schedule.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local domain = ARGV[2]
local limits = redis.call('HMGET', KEYS[1], '*', 'domain:' .. domain)
local rate = tonumber(limits[1]) or tonumber(ARGV[1]) or 0
local domainRate = 0
if domain ~= '' then domainRate = tonumber(limits[2]) or 0 end
local horizon = tonumber(ARGV[3])

if domainRate > 0 then
  local domainNext = tonumber(redis.call('GET', KEYS[3]) or '0') or 0
  if domainNext > now then return {0, tostring(domainNext - now)} end
end

local at = now
if rate > 0 then
  local next = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
  if next > at then at = next end
  if at - now > horizon then return {0, tostring(at - now - horizon)} end
  local following = at + 1000 / rate
  redis.call('SET', KEYS[2], tostring(following), 'PX', math.ceil(following - now) + 1000)
end
if domainRate > 0 then
  local following = at + 1000 / domainRate
  redis.call('SET', KEYS[3], tostring(following), 'PX', math.ceil(following - now) + 1000)
end
return {1, tostring(at - now)}
