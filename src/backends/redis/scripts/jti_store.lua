-- KEYS: jti hash, the route's generations, then (legacy layout) the user's generations of earlier
-- releases. ARGV: now, prefix, route, subject, client, record, expires_at, layout.
-- 1 stored, 0 a live entry exists, 2 the user's stored generations are garbled.
local e = redis.call('HGET', KEYS[1], 'e')
if e and tonumber(e) > NOW then return 0 end
local sub, cli, ea = ARGV[4], ARGV[5], tonumber(ARGV[7])
local g, c = user_gens(sub, cli)
if not g or not c then return 2 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'rec', ARGV[6], 'sub', sub, 'cli', cli, 'gen', fmt(g), 'cg', fmt(c),
           'c', '0', 'e', ARGV[7])
redis.call('PEXPIRE', KEYS[1], fmt(ttl_for(ea)))
keep_user(sub, ea)
return 1
