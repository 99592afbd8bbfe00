-- Generic client tokens (prepended to the token scripts). Every generic token "ct:g:<k>" is stored
-- as P "ct:{g}:<k>", so that all of them and their index share one hash slot: KEYS[1] the index
-- (sorted set, score 0, member the storage key "ct:g:<k>", in byte order for listing), KEYS[2]
-- their expiries (sorted set, member the storage key, score expires_at; NEVER for none).
local NEVER = 9007199254740991
-- Drops up to `n` members whose expiry passed from both sets.
local function prune(n)
  local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, n)
  if #gone > 0 then
    redis.call('ZREM', KEYS[1], unpack(gone))
    redis.call('ZREM', KEYS[2], unpack(gone))
  end
end
