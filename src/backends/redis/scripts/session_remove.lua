-- KEYS: hash, live, tombstones. ARGV: now, session. 1 deleted (tombstoned), 0 not found.
local h, live, tomb = KEYS[1], KEYS[2], KEYS[3]
local s = ARGV[2]
local cur = redis.call('HGET', h, s)
if not cur then return 0 end
local lock, exp = parse_session(cur)
if not lock then return corrupt() end
redis.call('HDEL', h, s)
redis.call('ZREM', live, s)
if exp <= NOW then return 0 end
redis.call('ZADD', tomb, fmt(exp), s)
keep_until(tomb, exp)
return 1
