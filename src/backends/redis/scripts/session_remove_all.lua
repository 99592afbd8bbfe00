-- KEYS: hash, live, tombstones. ARGV: now. Tombstones every live session, returns how many.
local h, live, tomb = KEYS[1], KEYS[2], KEYS[3]
local n = 0
local last = 0
local v = redis.call('ZRANGEBYSCORE', live, '(' .. ARGV[1], '+inf', 'WITHSCORES')
for i = 1, #v, 2 do
  redis.call('ZADD', tomb, v[i + 1], v[i])
  n = n + 1
  last = math.max(last, tonumber(v[i + 1]))
end
redis.call('DEL', h, live)
if n > 0 then
  redis.call('ZREMRANGEBYSCORE', tomb, '-inf', ARGV[1])
  keep_until(tomb, last)
end
return n
