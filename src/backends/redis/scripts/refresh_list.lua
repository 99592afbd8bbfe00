-- KEYS: index, user hash, grants (the indexed families' subject is the index's). ARGV: now,
-- prefix, route. Views of the user's live active families (flat, 7 fields each); prunes expired
-- and revoked members from the index.
local idx = KEYS[1]
redis.call('ZREMRANGEBYSCORE', idx, '-inf', ARGV[1])
local out = {}
for _, fk in ipairs(redis.call('ZRANGE', idx, 0, -1)) do
  local f = load_family(P .. fk)
  if not f or not unexpired(f) or revoked(f) then
    redis.call('ZREM', idx, fk)
  elseif f.st == 'a' then
    append(out, view(fk, f))
  end
end
return out
