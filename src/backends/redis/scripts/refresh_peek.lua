-- KEYS: token. ARGV: now, prefix, route. {0} not found; {1, view..., spent, live}. Read-only.
local t = redis.call('HMGET', KEYS[1], 'f', 's')
if not t[1] then return {0} end
local f = load_family(P .. t[1])
if not f or not unexpired(f) then return {0} end
local out = append({1}, view(t[1], f))
out[#out + 1] = t[2] == '1' and 1 or 0
out[#out + 1] = revoked(f) and 0 or 1
return out
