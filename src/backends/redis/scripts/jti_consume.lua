-- KEYS: jti hash, the route's generations, then (legacy layout) the user's generations of earlier
-- releases (of ARGV[4]: an entry of another subject is not found). ARGV: now, prefix, route,
-- subject, layout.
-- {0} not found (or garbled); {1, record} consumed; {2, record} already consumed; {3} revoked.
local v = redis.call('HMGET', KEYS[1], 'rec', 'sub', 'cli', 'gen', 'cg', 'c', 'e')
local e = v[7] and string.match(v[7], '^%d+$') and tonumber(v[7])
if not v[1] or not e or e <= NOW or v[2] ~= ARGV[4] or type(v[3]) ~= 'string' then return {0} end
if v[6] ~= '0' and v[6] ~= '1' then return {0} end
local g, c = user_gens(v[2], v[3])
if g ~= tonumber(v[4]) or c ~= tonumber(v[5]) then return {3} end
if v[6] == '1' then return {2, v[1]} end
redis.call('HSET', KEYS[1], 'c', '1')
return {1, v[1]}
