-- unsuppressAddress
-- KEYS[1] suppressions hash, KEYS[2] the address's soft-bounce sorted set, KEYS[3] the subscriber hash (absent when
-- the caller found no subscriber)
-- ARGV[1] the address's field in the suppression hash, ARGV[2] now (ISO)
-- Returns {removed (0|1), the suppression JSON or '', the record's status after}. A suppressed record becomes
-- `unsubscribed` with no newsletter: lifting a suppression never sends anyone anything until they opt in again.
local record = redis.call('HGET', KEYS[1], ARGV[1])
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
local status = ''
if KEYS[3] then
  status = redis.call('HGET', KEYS[3], 'status') or ''
  if status == 'suppressed' then
    redis.call('HSET', KEYS[3], 'status', 'unsubscribed', 'newsletters', '', 'updatedAt', ARGV[2], 'leftAt', ARGV[2])
    status = 'unsubscribed'
  end
end
return {removed, record or '', status}
