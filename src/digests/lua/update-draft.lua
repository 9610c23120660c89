-- updateDraft
-- KEYS[1] digest hash, KEYS[2] digest composition
-- ARGV[1] expected revision ('' accepts any), ARGV[2] composition JSON ('' keeps it), ARGV[3..] hash field/value pairs
-- Returns {'ok', new revision}, or the refusal of draftGuard ({'missing'|'state'|'stale', detail}); a refused edit
-- writes nothing.
--- @include "includes/draft-guard.lua"
local refusal = draftGuard(KEYS[1], ARGV[1])
if refusal then return refusal end
if #ARGV > 2 then redis.call('HSET', KEYS[1], unpack(ARGV, 3)) end
if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2]) end
return {'ok', tostring(redis.call('HINCRBY', KEYS[1], 'revision', 1))}
