-- KEYS: user hash. ARGV: now, client. Bumps the user's generation for one client (a garbled one
-- is replaced by `now`, as in refresh_revoke_subject).
local field = 'c:' .. ARGV[2]
local c = redis.call('HGET', KEYS[1], field)
if not c or string.match(c, '^%d+$') then
  redis.call('HINCRBY', KEYS[1], field, 1)
else
  redis.call('HSET', KEYS[1], field, ARGV[1])
end
keep_until(KEYS[1], NOW)
return 1
