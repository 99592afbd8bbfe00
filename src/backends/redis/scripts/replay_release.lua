-- KEYS[1] reservation "<kept_until>:<owner>" (or a hash {u, o} of the earlier layout).
-- ARGV: now, owner. Compare-and-delete: 1 released, 0 not held. A garbled entry is CORRUPT.
local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'none' then return 0 end
local u, o
if t == 'hash' then
  local v = redis.call('HMGET', KEYS[1], 'u', 'o')
  u, o = v[1], v[2]
elseif t == 'string' then
  u, o = string.match(redis.call('GET', KEYS[1]), '^(%d+):(.*)$')
end
local n = u and string.match(u, '^%d+$') and tonumber(u)
if not n then return redis.error_reply('CORRUPT reservation: expiry') end
if n <= NOW or o ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
return 1
