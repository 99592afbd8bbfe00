-- The rare path of code issue (docs/redis.md, "Codes"): run only when a native SET NX of the
-- record or of the tombstone found its key taken. KEYS[1] record "<e>:<record>" (or a hash
-- {e, c, r, t} of the earlier layout), KEYS[2] tombstone "<e>:<tombstone>". ARGV: now, record
-- value, tombstone value, expires_at. 1 written, 0 a live entry exists (by the store clock).
-- A key holding exactly the value this issue writes was written by its own SET NX: it is not
-- another entry, and is deleted when the issue is refused. Anything garbled is CORRUPT and is
-- never overwritten.
local function expiry(key, mine)
  local t = redis.call('TYPE', key)['ok']
  if t == 'none' then return nil end
  local e
  if t == 'hash' then
    e = redis.call('HGET', key, 'e')
  elseif t == 'string' then
    local v = redis.call('GET', key)
    if v == mine then return nil end
    e = string.match(v, '^(%d+):')
  end
  local n = e and string.match(e, '^%d+$') and tonumber(e)
  if not n then return false end
  return n
end
local er = expiry(KEYS[1], ARGV[2])
local et = expiry(KEYS[2], ARGV[3])
if er == false or et == false then return redis.error_reply('CORRUPT code entry: expiry') end
if (er and er > NOW) or (et and et > NOW) then
  if redis.call('GET', KEYS[1]) == ARGV[2] then redis.call('DEL', KEYS[1]) end
  if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
  return 0
end
local ttl = fmt(ttl_for(tonumber(ARGV[4])))
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
redis.call('SET', KEYS[2], ARGV[3], 'PX', ttl)
return 1
