-- A code of the EARLIER layout (a hash), consumed: run only when the native GETDEL of the record
-- key answered WRONGTYPE (docs/redis.md, "Codes", "Upgrade"). KEYS[1] code hash. ARGV: now.
-- {0} not found or expired; {1, record} consumed now; {2, tombstone} consumed before.
-- A garbled entry (a key without its expiry included) is an error reply CORRUPT (read as
-- kDataLoss), checked as the peek of the earlier layout does.
local v = redis.call('HMGET', KEYS[1], 'e', 'c', 'r', 't')
if not v[1] then
  if redis.call('EXISTS', KEYS[1]) == 1 then return redis.error_reply('CORRUPT code entry: expiry') end
  return {0}
end
local e = tonumber(v[1])
if not e then return redis.error_reply('CORRUPT code entry: expiry') end
if e <= NOW then return {0} end
if v[2] == '1' then
  if not v[4] then return redis.error_reply('CORRUPT code entry: tombstone') end
  return {2, v[4]}
end
if v[2] ~= '0' or not v[3] then return redis.error_reply('CORRUPT code entry: state') end
redis.call('HSET', KEYS[1], 'c', '1')
redis.call('HDEL', KEYS[1], 'r')
return {1, v[3]}
