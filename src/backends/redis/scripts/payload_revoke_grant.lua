-- KEYS[1] a grant's revocation marker (a string: until, Unix ms). ARGV: now, until.
-- Keeps the grant revoked until max(until, an earlier until).
local cur = tonumber(redis.call('GET', KEYS[1]))
local until_ms = tonumber(ARGV[2])
if not cur or cur < until_ms then redis.call('SET', KEYS[1], ARGV[2]) end
keep_until(KEYS[1], until_ms)
return 1
