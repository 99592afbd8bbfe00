-- KEYS: the route's revoked grants, then (legacy layout) the user's revoked grants of earlier
-- releases. ARGV: now, subject, grant, until. Keeps the grant revoked until max(until, earlier
-- until), in each place; drops expired members.
local until_ms = tonumber(ARGV[4])
local function revoke_in(key, member)
  local cur = redis.call('ZSCORE', key, member)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
  if not cur or tonumber(cur) < until_ms then redis.call('ZADD', key, ARGV[4], member) end
  keep_until(key, until_ms)
end
revoke_in(KEYS[1], ARGV[2] .. ':' .. ARGV[3])
if KEYS[2] then revoke_in(KEYS[2], ARGV[3]) end
return 1
