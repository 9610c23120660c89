-- addSubscriber
-- KEYS[1] subscriberByEmail hash, KEYS[2] suppressed hash, KEYS[3] the subscriber hash of ARGV[7],
-- KEYS[4..] active bitmaps of the newsletters named in ARGV[9], in that order
-- ARGV[1] lower-cased email, ARGV[2] email as given, ARGV[3] requested status (pending|active),
-- ARGV[4] requested newsletter ids comma-joined, ARGV[5] now (ISO), ARGV[6] '1' for a resubscription,
-- ARGV[7] subscriber id, ARGV[8] '1' when that id is fresh (taken by the caller with INCR) for a new address,
-- ARGV[9] newsletter ids of KEYS[4..] (the requested ones and every one the record took when the caller read it),
-- ARGV[10] the reader's name ('' keeps the stored one), ARGV[11] the address's field in the suppression hash (a keyed
-- hash of the address; the address itself is never stored there)
-- Returns {'retry'} when the address is now indexed under another id or the record takes a newsletter not in ARGV[9]
-- (nothing written), else {id, created (0|1), email, status, newsletters, createdAt, updatedAt, refusal ('' or why)}.
-- Rules: a suppressed address stays suppressed (an existing record is returned unchanged). A pending request never
-- sets an active bit: a new, pending or unsubscribed record becomes pending with the newsletters; an active reader
-- is left as is (the new newsletters wait for confirmation). An active request activates the record with the union
-- of its newsletters and the requested ones, except newsletters the reader left (the hash's 'left' list; every
-- requested one when the record is unsubscribed) unless ARGV[6] is '1'; when nothing remains, the record is returned
-- unchanged with refusal 'unsubscribed'. An active record has the bits of all its newsletters set.
--- @include "includes/list-helpers.lua"
local bitmaps = bitmapKeys(ARGV[9], 4)
local id = ARGV[7]
local current = redis.call('HMGET', KEYS[3], 'email', 'status', 'newsletters', 'createdAt', 'updatedAt', 'left')
if not hasEveryKey(bitmaps, current[3]) then return {'retry'} end
local mapped = redis.call('HGET', KEYS[1], ARGV[1])
local created = 0
if mapped ~= id then
  if mapped or ARGV[8] ~= '1' then return {'retry'} end
  redis.call('HSET', KEYS[1], ARGV[1], id)
  created = 1
end
local email = current[1] or ARGV[2]
local createdAt = current[4] or ARGV[5]
local updatedAt = current[5] or ARGV[5]
local oldStatus = current[2]
local oldNewsletters = current[3] or ''
local function reply(status, newsletters, refusal)
  return {id, created, email, status, newsletters, createdAt, updatedAt, refusal}
end
local function save(status, newsletters, left)
  if created == 0 and status == oldStatus and newsletters == oldNewsletters and left == (current[6] or '') then
    return
  end
  updatedAt = ARGV[5]
  redis.call('HSET', KEYS[3], 'email', email, 'status', status, 'newsletters', newsletters,
    'createdAt', createdAt, 'updatedAt', updatedAt)
  if left == '' then redis.call('HDEL', KEYS[3], 'left') else redis.call('HSET', KEYS[3], 'left', left) end
  if status ~= 'unsubscribed' then redis.call('HDEL', KEYS[3], 'leftAt') end
end
if ARGV[10] ~= '' and (current[1] or created == 1) then redis.call('HSET', KEYS[3], 'name', ARGV[10]) end
local isSuppressed = redis.call('HEXISTS', KEYS[2], ARGV[11]) == 1
if oldStatus == 'suppressed' or (isSuppressed and oldStatus) then
  return reply(oldStatus, oldNewsletters, 'suppressed')
end
if isSuppressed then
  save('suppressed', ARGV[4], '')
  return reply('suppressed', ARGV[4], 'suppressed')
end

local leftList = splitList(current[6])
local left = {}
for _, nl in ipairs(leftList) do left[nl] = true end
local function markLeft(nl)
  if not left[nl] then left[nl] = true; leftList[#leftList + 1] = nl end
end
local function isLeft(nl) return left[nl] or oldStatus == 'unsubscribed' end
local merged = {}
local seen = {}
local function take(nl)
  if not seen[nl] then seen[nl] = true; merged[#merged + 1] = nl end
end
local isResubscribe = ARGV[6] == '1'

if ARGV[3] == 'pending' then
  if oldStatus == 'active' then return reply(oldStatus, oldNewsletters, '') end
  if oldStatus == 'pending' then
    for _, nl in ipairs(splitList(oldNewsletters)) do take(nl) end
  end
  for _, nl in ipairs(splitList(ARGV[4])) do
    take(nl)
    -- A reader who left must confirm with a resubscription before any of these becomes active.
    if oldStatus == 'unsubscribed' then markLeft(nl) end
  end
  local newsletters = table.concat(merged, ',')
  save('pending', newsletters, table.concat(leftList, ','))
  return reply('pending', newsletters, '')
end

local isRefused = false
for _, nl in ipairs(splitList(oldNewsletters)) do
  if oldStatus == 'active' or isResubscribe or not isLeft(nl) then take(nl) else isRefused = true end
end
for _, nl in ipairs(splitList(ARGV[4])) do
  if isResubscribe or not isLeft(nl) then take(nl) else isRefused = true end
end
if #merged == 0 then return reply(oldStatus, oldNewsletters, 'unsubscribed') end
local keptLeft = {}
for _, nl in ipairs(leftList) do
  if not (isResubscribe and seen[nl]) then keptLeft[#keptLeft + 1] = nl end
end
local newsletters = table.concat(merged, ',')
save('active', newsletters, table.concat(keptLeft, ','))
for _, nl in ipairs(merged) do redis.call('SETBIT', bitmaps[nl], tonumber(id), 1) end
local refusal = ''
if isRefused then refusal = 'unsubscribed' end
return reply('active', newsletters, refusal)
