-- KEYS: grants. ARGV: now, grant, until. Keeps the grant revoked until max(until, earlier until).
local until_ms = tonumber(ARGV[3])
local cur = redis.call('ZSCORE', KEYS[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if not cur or tonumber(cur) < until_ms then redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2]) end
keep_until(KEYS[1], until_ms)
return 1
