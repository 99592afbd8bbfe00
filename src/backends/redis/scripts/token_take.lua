-- KEYS: index, expiries, the token. ARGV: now, storage key. GETDEL of the token, dropped from
-- the index: its value, or nil.
local v = redis.call('GETDEL', KEYS[3])
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
return v
