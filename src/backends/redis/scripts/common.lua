-- Prepended to every authstore script (see docs/redis.md). ARGV[1] is always the store clock's
-- `now` in Unix ms: every expiry DECISION compares stored expiry values with it. Native TTLs only
-- bound memory; they are set RELATIVE to now (PEXPIRE remaining + SLACK), so a key lives at least
-- as long as the store clock says it must, whatever the server's own clock reads.
local NOW = tonumber(ARGV[1])
local SLACK = 1000
local function fmt(n) return string.format('%.0f', n) end
-- The native TTL (ms) of something that expires at until_ms (store clock); never below SLACK.
local function ttl_for(until_ms) return math.max(until_ms - NOW, 0) + SLACK end
-- Extends key's TTL so that it lives at least until until_ms; never shortens it.
local function keep_until(key, until_ms)
  local want = ttl_for(until_ms)
  local ttl = redis.call('PTTL', key)
  if ttl < want then redis.call('PEXPIRE', key, fmt(want)) end
end
