-- KEYS: user hash. ARGV: now, client. Bumps the user's generation for one client.
redis.call('HINCRBY', KEYS[1], 'c:' .. ARGV[2], 1)
keep_until(KEYS[1], NOW)
return 1
