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
-- revoked(), with the generations of each (subject, client) and the revocation of each
-- (subject, grant) read once per listing rather than once per family: a user's families share
-- them, and nothing here changes them, so a list costs one read per family.
local gens_of, grant_of = {}, {}
local function listed_revoked(f)
  if f.st == 'r' then return true end
  local gk = f.sub .. ':' .. f.cli
  local gc = gens_of[gk]
  if not gc then
    local g, c = user_gens(f.sub, f.cli)
    gc = {g = g, c = c}
    gens_of[gk] = gc
  end
  if gc.g ~= f.gen or gc.c ~= f.cg then return true end
  local rk = f.sub .. ':' .. f.gra
  local r = grant_of[rk]
  if r == nil then
    r = grant_revoked(f.sub, f.gra) and true or false
    grant_of[rk] = r
  end
  return r
end
local out = {}
for _, fk in ipairs(members) do
  local f = load_family(P .. fk)
  if not f or not unexpired(f) or listed_revoked(f) then
    redis.call('ZREM', idx, fk)
  elseif f.st == 'a' then
    append(out, view(fk, f))
  end
end
return out
