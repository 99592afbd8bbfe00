-- KEYS: a token (ARGV[4] = 'token', then its family unless the caller found no token) or a
-- family (ARGV[4] = 'family'). ARGV: now, prefix, route, kind, the token's family key (its text
-- names it, or the caller read it first; '' = no token found), layout. Marks the unexpired family
-- revoked: 1, or 0 when missing, expired, garbled, or the token is linked to another family.
local fkey = KEYS[1]
if ARGV[4] == 'token' then
  local f = redis.call('HGET', KEYS[1], 'f')
  if not f or f ~= ARGV[5] then return 0 end
  fkey = P .. f
end
local f = load_family(fkey)
if not f or not unexpired(f) then return 0 end
redis.call('HSET', fkey, 'st', 'r')
return 1
