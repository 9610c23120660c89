-- Shared Lua: finish the digest when every recipient has an outcome.
-- Reads the digest hash (status, fannedOutAt, counters, createdAt); when the status is `sending`, fan-out is done and
-- delivered + failed + skipped >= recipients, sets status `sent` and sentAt, and moves the newsletter's
-- last-sent cut-off forward to the digest's createdAt (never backwards). Returns the status after the check.
local function settleIfComplete(digestKey, lastSentKey, now)
  local f = redis.call('HMGET', digestKey, 'status', 'fannedOutAt', 'recipients', 'delivered', 'failed', 'skipped', 'createdAt')
  if f[1] ~= 'sending' or not f[2] or f[2] == '' then return f[1] end
  local done = tonumber(f[4] or '0') + tonumber(f[5] or '0') + tonumber(f[6] or '0')
  if done < tonumber(f[3] or '0') then return f[1] end
  redis.call('HSET', digestKey, 'status', 'sent', 'sentAt', now)
  local cutOff = f[7] or now
  local previous = redis.call('GET', lastSentKey)
  if not previous or previous < cutOff then redis.call('SET', lastSentKey, cutOff) end
  return 'sent'
end
