-- KEYS[1] code hash. ARGV: now, record, tombstone, expires_at. 1 inserted, 0 a live entry exists.
local e = redis.call('HGET', KEYS[1], 'e')
if e and not tonumber(e) then return redis.error_reply('CORRUPT code entry: expiry') end
if e and tonumber(e) > NOW then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'e', ARGV[4], 'c', '0', 'r', ARGV[2], 't', ARGV[3])
redis.call('PEXPIRE', KEYS[1], fmt(ttl_for(tonumber(ARGV[4]))))
return 1
