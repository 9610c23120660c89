-- suppressAddress
-- KEYS[1] subscriberByEmail hash, KEYS[2] suppressed hash, KEYS[3] the subscriber hash of ARGV[4] (absent when the
-- caller found no subscriber), KEYS[4..] active bitmaps of the newsletters named in ARGV[5], in that order
-- ARGV[1] lower-cased email, ARGV[2] suppression JSON, ARGV[3] now (ISO), ARGV[4] the subscriber id the caller found
-- ('' for none), ARGV[5] newsletter ids of KEYS[4..] (every one the record took when the caller read it),
-- ARGV[6] the address's field in the suppression hash (a keyed hash of the address)
-- Returns -1 (retry, nothing written) when the address is now indexed under another id or the record takes a
-- newsletter not in ARGV[5]; else the subscriber id, or 0 when no subscriber has the address (the suppression is
-- recorded anyway). The first suppression's reason is kept; later ones do not overwrite it.
--- @include "includes/list-helpers.lua"
local bitmaps = bitmapKeys(ARGV[5], 4)
local mapped = redis.call('HGET', KEYS[1], ARGV[1])
if (mapped or '') ~= ARGV[4] then return -1 end
local newsletters = nil
if mapped then
  newsletters = redis.call('HGET', KEYS[3], 'newsletters')
  if not hasEveryKey(bitmaps, newsletters) then return -1 end
end
redis.call('HSETNX', KEYS[2], ARGV[6], ARGV[2])
if not newsletters then return 0 end
for _, nl in ipairs(splitList(newsletters)) do
  redis.call('SETBIT', bitmaps[nl], tonumber(mapped), 0)
end
redis.call('HSET', KEYS[3], 'status', 'suppressed', 'updatedAt', ARGV[3])
return tonumber(mapped)
