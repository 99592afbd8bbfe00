-- KEYS[1] code hash. ARGV: now.
-- {0} not found or expired; {1, record} consumed now; {2, tombstone} consumed before.
local v = redis.call('HMGET', KEYS[1], 'e', 'c', 'r', 't')
if not v[1] or tonumber(v[1]) <= NOW then return {0} end
if v[2] == '1' then return {2, v[4]} end
redis.call('HSET', KEYS[1], 'c', '1')
redis.call('HDEL', KEYS[1], 'r')
return {1, v[3]}
