-- KEYS[1] reservation hash. ARGV: now, owner. Compare-and-delete: 1 released, 0 not held.
local v = redis.call('HMGET', KEYS[1], 'u', 'o')
if not v[1] or tonumber(v[1]) <= NOW or v[2] ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
return 1
