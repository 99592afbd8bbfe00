-- KEYS: user hash, index. ARGV: now. Bumps the user's generation (every family and jti issued
-- before reads as revoked, then expires on its own: no mass delete) and drops the index.
redis.call('HINCRBY', KEYS[1], 'g', 1)
keep_until(KEYS[1], NOW)
redis.call('DEL', KEYS[2])
return 1
