-- KEYS: index, the route's generations and revoked grants, (legacy layout) the user's generations
-- and revoked grants of earlier releases (the indexed families' subject is the index's), then every
-- family the caller read in the index (ZRANGE) just before. ARGV: now, prefix, route, layout.
-- Views of the user's live active families (flat, 7 fields each); prunes expired and revoked
-- members from the index. -1 (nothing read, only expired members pruned) when the index now names
-- a family the caller did not declare (issued in between): the caller reads the index again.
local idx = KEYS[1]
local declared = {}
for i = 2, #KEYS do declared[KEYS[i]] = true end
redis.call('ZREMRANGEBYSCORE', idx, '-inf', ARGV[1])
local members = redis.call('ZRANGE', idx, 0, -1)
for _, fk in ipairs(members) do
  if not declared[P .. fk] then return -1 end
end
local out = {}
for _, fk in ipairs(members) do
  local f = load_family(P .. fk)
  if not f or not unexpired(f) or revoked(f) then
    redis.call('ZREM', idx, fk)
  elseif f.st == 'a' then
    append(out, view(fk, f))
  end
end
return out
