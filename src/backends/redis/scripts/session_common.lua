-- Sessions of one bucket (user, type): KEYS[1] hash session -> "<lock>:<refresh_expires_at>:<record>",
-- KEYS[2] sorted set of live sessions scored by refresh_expires_at, KEYS[3] sorted set of
-- tombstones (deleted sessions) scored by the deleted session's refresh_expires_at.
-- parse_session returns lock, refresh_expires_at, record; nil when the value is garbled (the
-- scripts then answer CORRUPT, read as kDataLoss, before writing anything).
local function parse_session(v)
  local a = string.find(v, ':', 1, true)
  local b = a and string.find(v, ':', a + 1, true)
  if not b then return nil end
  local lock, exp = tonumber(string.sub(v, 1, a - 1)), tonumber(string.sub(v, a + 1, b - 1))
  if not lock or not exp then return nil end
  return lock, exp, string.sub(v, b + 1)
end
local function corrupt() return redis.error_reply('CORRUPT session entry') end
-- Drops expired live sessions (bounded per call) and expired tombstones.
local function prune_bucket(h, live, tomb)
  local old = redis.call('ZRANGEBYSCORE', live, '-inf', ARGV[1], 'LIMIT', 0, 128)
  for _, m in ipairs(old) do
    redis.call('HDEL', h, m)
    redis.call('ZREM', live, m)
  end
  if tomb then redis.call('ZREMRANGEBYSCORE', tomb, '-inf', ARGV[1]) end
end
