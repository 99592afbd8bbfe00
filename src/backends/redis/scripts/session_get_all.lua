-- KEYS: hash, live. ARGV: now. The live sessions, soonest refresh expiry first, as a flat array
-- session key, record, session key, record, ... Read-only.
local h, live = KEYS[1], KEYS[2]
local out = {}
for _, m in ipairs(redis.call('ZRANGEBYSCORE', live, '(' .. ARGV[1], '+inf')) do
  local cur = redis.call('HGET', h, m)
  if cur then
    local lock, exp, record = parse_session(cur)
    if not lock then return corrupt() end
    if exp > NOW then
      out[#out + 1] = m
      out[#out + 1] = record
    end
  end
end
return out
