-- Moves one generic client token written before the index (P "ct:g:<k>", found by SCAN on a
-- standalone server) to its indexed key. KEYS: index, expiries, the new key, the old key (another
-- slot: standalone servers only, where such keys exist). ARGV: now, storage key. A token already
-- at the new key wins. 1 moved, 0 dropped, 2 not a token (left alone).
if redis.call('TYPE', KEYS[4]).ok ~= 'string' then return 2 end
local v = redis.call('GET', KEYS[4])
local colon = string.find(v, ':', 1, true)
local e = colon and tonumber(string.sub(v, 1, colon - 1))
if not e then return 2 end
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('DEL', KEYS[4])
  return 0
end
local ttl = redis.call('PTTL', KEYS[4])
if ttl > 0 then
  redis.call('SET', KEYS[3], v, 'PX', ttl)
else
  redis.call('SET', KEYS[3], v)
end
redis.call('DEL', KEYS[4])
redis.call('ZADD', KEYS[1], 0, ARGV[2])
redis.call('ZADD', KEYS[2], e == 0 and NEVER or e, ARGV[2])
return 1
