-- Revocations of a user, a client or a grant (prepended to those scripts). A generation lives in
-- the route's hash (field 'g:<sub>' or 'c:<sub>:<cli>') and, in the legacy layout, also in the
-- user's hash of earlier releases (field 'g' or 'c:<cli>'): bump() sets every place to one new
-- value, above each of them, so that readers of either layout see the revocation. A garbled value
-- (not a decimal integer) is replaced by at least `now`, above any generation a family captured
-- (small counts). places: {{key, field}, ...}.
local function bump(places)
  local top, garbled = 0, false
  for _, p in ipairs(places) do
    local v = redis.call('HGET', p[1], p[2])
    if v then
      if #v <= 15 and string.match(v, '^%d+$') then
        top = math.max(top, tonumber(v))
      else
        garbled = true
      end
    end
  end
  local new = top + 1
  if garbled and NOW > new then new = NOW end
  for _, p in ipairs(places) do
    redis.call('HSET', p[1], p[2], fmt(new))
    keep_until(p[1], NOW)
  end
end
-- Records a logout at `now` for grant_live (field 'a:<sub>' or 'a:<sub>:<cli>' of the route's
-- generations): the later of the stored time and now (a garbled one is replaced), remembered at
-- least until until_ms.
local function record_logout(key, field, until_ms)
  local v = redis.call('HGET', key, field)
  local at = v and #v <= 16 and string.match(v, '^%-?%d+$') and tonumber(v)
  if not at or at < NOW then redis.call('HSET', key, field, fmt(NOW)) end
  keep_until(key, until_ms)
end
