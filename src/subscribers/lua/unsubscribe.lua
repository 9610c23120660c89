-- unsubscribeSubscriber
-- KEYS[1] the subscriber hash, KEYS[2..] active bitmaps of the newsletters named in ARGV[4], in that order
-- ARGV[1] subscriber id, ARGV[2] newsletter id, or '' for every newsletter, ARGV[3] now (ISO),
-- ARGV[4] newsletter ids of KEYS[2..] (the one named and every one the record took when the caller read it)
-- Returns 0 when the subscriber does not exist, -1 (retry, nothing written) when the record takes a newsletter not
-- in ARGV[4], else 1. Clears the active bit(s) first: from this instant no delivery sends to them. The newsletters
-- left are remembered (the hash's 'left' list), so only a resubscription takes them back. Removing the last
-- newsletter makes the status `unsubscribed` (stamping 'leftAt' with the time); a suppressed record keeps its status.
--- @include "includes/list-helpers.lua"
local bitmaps = bitmapKeys(ARGV[4], 2)
local id = tonumber(ARGV[1])
local current = redis.call('HMGET', KEYS[1], 'status', 'newsletters', 'left')
if not current[1] then return 0 end
if not hasEveryKey(bitmaps, current[2]) then return -1 end
local leftList = splitList(current[3])
local left = {}
for _, nl in ipairs(leftList) do left[nl] = true end
local function leave(nl)
  redis.call('SETBIT', bitmaps[nl], id, 0)
  if not left[nl] then left[nl] = true; leftList[#leftList + 1] = nl end
end
local remaining = {}
for _, nl in ipairs(splitList(current[2])) do
  if ARGV[2] == '' or ARGV[2] == nl then leave(nl) else remaining[#remaining + 1] = nl end
end
if ARGV[2] ~= '' then leave(ARGV[2]) end
local status = current[1]
if #remaining == 0 and status ~= 'suppressed' then
  if status ~= 'unsubscribed' then redis.call('HSET', KEYS[1], 'leftAt', ARGV[3]) end
  status = 'unsubscribed'
end
redis.call('HSET', KEYS[1], 'status', status, 'newsletters', table.concat(remaining, ','), 'updatedAt', ARGV[3],
  'left', table.concat(leftList, ','))
return 1
