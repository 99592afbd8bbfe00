-- The rare path of replay reserve (docs/redis.md, "Replay reservations"): run only when the
-- native SET NX GET found an entry it cannot decide: one the store clock says expired (the
-- server still holds it), or one of the earlier layout (a hash {u, o}: WRONGTYPE).
-- KEYS[1] reservation "<kept_until>:<owner>". ARGV: now, owner, kept_until.
-- 1 reserved, 0 a live one exists. A garbled expiry is CORRUPT: it might guard a live
-- reservation, so it is never overwritten.
local t = redis.call('TYPE', KEYS[1])['ok']
if t ~= 'none' then
  local u
  if t == 'hash' then
    u = redis.call('HGET', KEYS[1], 'u')
  elseif t == 'string' then
    u = string.match(redis.call('GET', KEYS[1]), '^(%d+):')
  end
  local n = u and string.match(u, '^%d+$') and tonumber(u)
  if not n then return redis.error_reply('CORRUPT reservation: expiry') end
  if n > NOW then return 0 end
end
redis.call('SET', KEYS[1], ARGV[3] .. ':' .. ARGV[2], 'PX', fmt(ttl_for(tonumber(ARGV[3]))))
return 1
