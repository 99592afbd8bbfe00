-- KEYS: user hash, index. ARGV: now. Bumps the user's generation (every family and jti issued
-- before reads as revoked, then expires on its own: no mass delete) and drops the index. A garbled
-- generation (not an integer) is replaced by `now`, above any generation captured (small counts).
local g = redis.call('HGET', KEYS[1], 'g')
if not g or string.match(g, '^%d+$') then
  redis.call('HINCRBY', KEYS[1], 'g', 1)
else
  redis.call('HSET', KEYS[1], 'g', ARGV[1])
end
keep_until(KEYS[1], NOW)
redis.call('DEL', KEYS[2])
return 1
