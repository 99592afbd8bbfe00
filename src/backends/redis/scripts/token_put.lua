-- KEYS: index, expiries, the token. ARGV: now, storage key, value "<expires_at>:<blob>",
-- expires_at (0 = never), native TTL in ms ('' = none). Prunes up to 64 expired members.
prune(64)
if ARGV[5] == '' then
  redis.call('SET', KEYS[3], ARGV[3])
else
  redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[5])
end
local e = tonumber(ARGV[4])
redis.call('ZADD', KEYS[1], 0, ARGV[2])
redis.call('ZADD', KEYS[2], e == 0 and NEVER or e, ARGV[2])
return 1
