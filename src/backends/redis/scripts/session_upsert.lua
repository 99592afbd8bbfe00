-- KEYS: hash, live, tombstones. ARGV: now, session, record, expected_lock, refresh_expires_at,
-- max_sessions. 1 written, 0 conflict.
local h, live, tomb = KEYS[1], KEYS[2], KEYS[3]
local s, exp = ARGV[2], tonumber(ARGV[5])
local expected, max = tonumber(ARGV[4]), tonumber(ARGV[6])
-- The store checks it; checked again here because a failing PEXPIRE after the HSET below would
-- leave a session written without a TTL (Redis does not roll a script back).
if not exp or exp > 253402300799999 then return redis.error_reply('ERR refresh_expires_at out of range') end
local cur = redis.call('HGET', h, s)
local lock, cexp = nil, nil
if cur then
  lock, cexp = parse_session(cur)
  if not lock then return corrupt() end
end
-- (Pruning only drops sessions expired by now, which the checks below treat as absent anyway.)
prune_bucket(h, live, tomb)
local is_live = cur and cexp > NOW
if expected == 0 then
  if is_live then return 0 end
  local ts = redis.call('ZSCORE', tomb, s)
  if ts and tonumber(ts) > NOW then return 0 end
  redis.call('HSET', h, s, '1:' .. ARGV[5] .. ':' .. ARGV[3])
  redis.call('ZADD', live, ARGV[5], s)
  redis.call('ZREM', tomb, s)
  if max > 0 then
    local n = redis.call('ZCOUNT', live, '(' .. ARGV[1], '+inf')
    local guard = 0
    while n > max and guard < 10000 do
      local v = redis.call('ZRANGEBYSCORE', live, '(' .. ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, 2)
      local victim, score = v[1], v[2]
      if victim == s then victim, score = v[3], v[4] end
      if not victim then break end
      redis.call('ZADD', tomb, score, victim)
      redis.call('ZREM', live, victim)
      redis.call('HDEL', h, victim)
      keep_until(tomb, tonumber(score))
      n = n - 1
      guard = guard + 1
    end
  end
else
  if not is_live or lock ~= expected then return 0 end
  redis.call('HSET', h, s, fmt(expected + 1) .. ':' .. ARGV[5] .. ':' .. ARGV[3])
  redis.call('ZADD', live, ARGV[5], s)
end
keep_until(h, exp)
keep_until(live, exp)
return 1
