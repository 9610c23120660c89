-- readRecords
-- KEYS[1..] subscriber hashes (a page of consecutive ids)
-- ARGV[1..] the field names to read
-- Returns one string for the whole page: per key, its fields' values joined by \31 (unit separator; '' for a
-- missing field or record), the keys' texts joined by \30 (record separator). Neither character can be in a stored
-- value (addresses, names, ids and dates refuse control characters), and one string costs the client far less to
-- decode than an array per record.
local records = {}
for i = 1, #KEYS do
  local values = redis.call('HMGET', KEYS[i], unpack(ARGV))
  for j = 1, #ARGV do values[j] = values[j] or '' end
  records[i] = table.concat(values, '\31')
end
return table.concat(records, '\30')
