-- importNew
-- KEYS[1] subscriberByEmail hash, KEYS[2] suppressions hash, KEYS[3] pending-requests sorted set,
-- KEYS[4..3+N] active bitmaps of the N newsletters named in ARGV[4], in that order,
-- KEYS[4+N..] the subscriber hashes of the rows, in row order
-- ARGV[1] status of the new readers ('active' or 'pending'), ARGV[2] now (ISO), ARGV[3] now (ms),
-- ARGV[4] newsletter ids of the bitmap keys comma-joined, then six values per row: lower-cased email, email as
-- given, name ('' for none), the row's newsletter ids comma-joined, the fresh id the caller took for it (INCRBY),
-- and the address's field in the suppression hash
-- Returns one number per row: 1 added; 0 not added because the address is already indexed (the caller adds it the
-- ordinary way, by add-subscriber.lua); 2 not added because the address is suppressed. Nothing is written for 0 and 2.
-- A pending reader is stored as a sign-up awaiting confirmation (requestedAt, the pending-requests set); an active
-- one gets the active bits of its newsletters. The bulk path of an import: one call per chunk of rows.
--- @include "includes/list-helpers.lua"
local bitmaps = bitmapKeys(ARGV[4], 4)
local firstHash = 4 + #splitList(ARGV[4])
local isActive = ARGV[1] == 'active'
local results = {}
local row = 0
for i = 5, #ARGV, 6 do
  row = row + 1
  local address, email, name, newsletters, id, field = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  local hash = KEYS[firstHash + row - 1]
  if redis.call('HEXISTS', KEYS[1], address) == 1 then
    results[row] = 0
  elseif redis.call('HEXISTS', KEYS[2], field) == 1 then
    results[row] = 2
  else
    redis.call('HSET', KEYS[1], address, id)
    redis.call('HSET', hash, 'email', email, 'status', ARGV[1], 'newsletters', newsletters,
      'createdAt', ARGV[2], 'updatedAt', ARGV[2])
    if name ~= '' then redis.call('HSET', hash, 'name', name) end
    if isActive then
      for _, nl in ipairs(splitList(newsletters)) do redis.call('SETBIT', bitmaps[nl], tonumber(id), 1) end
    else
      redis.call('HSET', hash, 'requestedAt', ARGV[2])
      redis.call('ZADD', KEYS[3], ARGV[3], id)
    end
    results[row] = 1
  end
end
return results
