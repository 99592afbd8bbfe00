-- KEYS: the route's generations and revoked grants, then (legacy layout) the user's revoked grants
-- of earlier releases. ARGV: now, prefix, route, subject, client, grant ('' = none), issued_at,
-- layout. 0 live; 1 the grant is revoked; 2 the user, 3 the client, was logged out at or after
-- issued_at (a garbled logout time counts as one). Read-only.
local sub, cli, gra, iat = ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7])
if grant_revoked(sub, gra) then return 1 end
local v = redis.call('HMGET', GENS, 'a:' .. sub, 'a:' .. sub .. ':' .. cli)
local function since(x)
  if not x then return false end
  local t = int(x)
  return not t or t >= iat
end
if since(v[1]) then return 2 end
if since(v[2]) then return 3 end
return 0
