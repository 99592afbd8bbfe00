-- KEYS: family, token, index, the route's generations and revoked grants, then (legacy layout) the
-- user's generations and revoked grants of earlier releases. ARGV: now, prefix, route, subject,
-- family key, token key (both unprefixed), client, grant, record, idle_ttl, expires_at, layout.
-- 1 issued, 2 grant revoked, 3 key collision, 4 the user's stored generations are garbled.
local sub, fk, tk, cli, gra = ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local it, ea = tonumber(ARGV[10]), tonumber(ARGV[11])
if grant_revoked(sub, gra) then return 2 end
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 3 end
local g, c = user_gens(sub, cli)
if not g or not c then return 4 end
redis.call('HSET', KEYS[1], 'rec', ARGV[9], 'sub', sub, 'cli', cli, 'gra', gra, 'gen', fmt(g),
           'cg', fmt(c), 'st', 'a', 'cur', tk, 'ca', ARGV[1], 'lu', ARGV[1], 'it', ARGV[10],
           'ie', fmt(math.min(NOW + it, ea)), 'ea', ARGV[11], 'rot', '0')
-- The family matters until it idles out (extended by each rotation); its tokens until its end, so
-- that any spent token still reads as reuse while the family lives.
redis.call('PEXPIRE', KEYS[1], fmt(ttl_for(math.min(NOW + it, ea))))
redis.call('HSET', KEYS[2], 'f', fk, 's', '0')
redis.call('PEXPIRE', KEYS[2], fmt(ttl_for(ea)))
keep_user(sub, ea)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[11], fk)
keep_until(KEYS[3], ea)
return 1
