-- KEYS: token, the route's generations and revoked grants, its family (absent when the caller
-- found no token). ARGV: now, prefix, route, the token's family key ('' = the caller found no
-- token), layout.
-- {0} not found; {2} garbled; {1, view..., spent, live}. Read-only.
local f, t = load_pair(KEYS[1], ARGV[4])
if f == false then return {2} end
if not f then return {0} end
local out = append({1}, view(t.f, f))
out[#out + 1] = t.s ~= '0' and 1 or 0
out[#out + 1] = revoked(f) and 0 or 1
return out
