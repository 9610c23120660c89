-- readRecords
-- KEYS[1..] subscriber hashes (a page of consecutive ids)
-- ARGV[1..] the field names to read
-- Returns one array per key with the fields' values (false for a missing field or record): a page of a scan in one
-- command, which costs the client far less than one HMGET per record.
local page = {}
for i = 1, #KEYS do page[i] = redis.call('HMGET', KEYS[i], unpack(ARGV)) end
return page
