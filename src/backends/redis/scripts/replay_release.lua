-- KEYS[1] reservation hash. ARGV: now, owner. Compare-and-delete: 1 released, 0 not held.
local v = redis.call('HMGET', KEYS[1], 'u', 'o')
if not v[1] then return 0 end
local u = tonumber(v[1])
if not u then return redis.error_reply('CORRUPT reservation: expiry') end
if u <= NOW or v[2] ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
return 1
