-- KEYS[1] payload entry hash. ARGV: now, record, grant key (or ''), expires_at.
-- Replaces the entry: {e: expires_at, c: consumed_at (0), r: record, g: grant key}.
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'e', ARGV[4], 'c', '0', 'r', ARGV[2], 'g', ARGV[3])
redis.call('PEXPIRE', KEYS[1], fmt(ttl_for(tonumber(ARGV[4]))))
return 1
