-- KEYS[1] payload entry hash. ARGV: now.
-- {0} not found or expired; {1, record, grant key} consumed now; {2, record, grant key,
-- consumed_at} consumed before. The grant is checked by the caller (its marker has its own slot).
-- A garbled entry is an error reply CORRUPT (read as kDataLoss), checked as payload_get does.
local v = redis.call('HMGET', KEYS[1], 'e', 'c', 'r', 'g')
if not v[1] then return {0} end
local e = tonumber(v[1])
local c = tonumber(v[2])
if not e or not c or not v[3] or not v[4] then return redis.error_reply('CORRUPT payload entry') end
if e <= NOW then return {0} end
if c ~= 0 then return {2, v[3], v[4], v[2]} end
redis.call('HSET', KEYS[1], 'c', ARGV[1])
return {1, v[3], v[4]}
