-- KEYS[1] reservation hash. ARGV: now, owner, kept_until. 1 reserved, 0 a live one exists.
-- A garbled expiry is CORRUPT: it might guard a live reservation, so it is never overwritten.
local u = redis.call('HGET', KEYS[1], 'u')
if u and not tonumber(u) then return redis.error_reply('CORRUPT reservation: expiry') end
if u and tonumber(u) > NOW then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'u', ARGV[3], 'o', ARGV[2])
redis.call('PEXPIRE', KEYS[1], fmt(ttl_for(tonumber(ARGV[3]))))
return 1
