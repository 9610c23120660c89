-- requestSubscription
-- KEYS[1] subscriberByEmail hash, KEYS[2] suppressions hash, KEYS[3] the subscriber hash of ARGV[7],
-- KEYS[4] pending-requests sorted set (subscriber id scored by request time, ms)
-- ARGV[1] lower-cased email, ARGV[2] email as given, ARGV[3] the address's field in the suppression hash,
-- ARGV[4] requested newsletter ids comma-joined, ARGV[5] now (ISO), ARGV[6] now (ms), ARGV[7] subscriber id,
-- ARGV[8] '1' when that id is fresh (taken by the caller with INCR) for a new address, ARGV[9] '1' when a
-- confirmation will be sent for this request (the request time moves to now, so its link lives from now on),
-- ARGV[10] the reader's name ('' keeps the stored one)
-- Returns {'retry'} when the address is now indexed under another id (nothing written), else
-- {outcome, id, requestedAt}: 'suppressed' (nothing written, no record is created), 'subscribed' (the reader already
-- takes every requested newsletter: nothing to confirm), or 'requested'.
-- A new address becomes a `pending` record taking the requested newsletters. A pending record adds them to its own.
-- An active or unsubscribed record keeps its status and remembers the newsletters it does not take yet in
-- 'requested'; none becomes active before the confirmation. Nothing here sets an active bit.
--- @include "includes/list-helpers.lua"
local id = ARGV[7]
local mapped = redis.call('HGET', KEYS[1], ARGV[1])
if mapped ~= id and (mapped or ARGV[8] ~= '1') then return {'retry'} end
if redis.call('HEXISTS', KEYS[2], ARGV[3]) == 1 then return {'suppressed', id, ''} end
local current = redis.call('HMGET', KEYS[3], 'status', 'newsletters', 'requested', 'requestedAt')
local status = current[1]
if status == 'suppressed' then return {'suppressed', id, ''} end

local function union(first, second)
  local merged, seen = {}, {}
  for _, list in ipairs({first, second}) do
    for _, nl in ipairs(list) do
      if not seen[nl] then seen[nl] = true; merged[#merged + 1] = nl end
    end
  end
  return table.concat(merged, ',')
end

if ARGV[10] ~= '' and status ~= nil then redis.call('HSET', KEYS[3], 'name', ARGV[10]) end
local requestedAt = current[4]
if ARGV[9] == '1' or not requestedAt then requestedAt = ARGV[5] end
local function stamp()
  redis.call('HSET', KEYS[3], 'requestedAt', requestedAt, 'updatedAt', ARGV[5])
  if requestedAt == ARGV[5] then redis.call('ZADD', KEYS[4], ARGV[6], id) end
end

if not status then
  redis.call('HSET', KEYS[1], ARGV[1], id)
  redis.call('HSET', KEYS[3], 'email', ARGV[2], 'status', 'pending', 'newsletters', ARGV[4], 'createdAt', ARGV[5])
  if ARGV[10] ~= '' then redis.call('HSET', KEYS[3], 'name', ARGV[10]) end
  stamp()
  return {'requested', id, requestedAt}
end
if status == 'pending' then
  redis.call('HSET', KEYS[3], 'newsletters', union(splitList(current[2]), splitList(ARGV[4])))
  stamp()
  return {'requested', id, requestedAt}
end
local taken = {}
for _, nl in ipairs(splitList(current[2])) do taken[nl] = true end
local missing = {}
for _, nl in ipairs(splitList(ARGV[4])) do
  if not taken[nl] then missing[#missing + 1] = nl end
end
if #missing == 0 then return {'subscribed', id, current[4] or ''} end
redis.call('HSET', KEYS[3], 'requested', union(splitList(current[3]), missing))
stamp()
return {'requested', id, requestedAt}
