-- KEYS: token, new token (absent when consuming). ARGV: now, prefix, route, new token key
-- (unprefixed, '' = consume), client ('' = no check), grace.
-- {0} not found; else {outcome, view...}: 1 rotated, 2 grace rotated, 3 reused, 4 revoked,
-- 5 client mismatch.
local newk, cli, grace = ARGV[4], ARGV[5], tonumber(ARGV[6])
local t = redis.call('HMGET', KEYS[1], 'f', 's', 'sa', 'n')
if not t[1] then return {0} end
local fkey = P .. t[1]
local f = load_family(fkey)
if not f or not unexpired(f) then return {0} end
local function advance()
  f.lu = NOW
  f.ie = math.min(NOW + f.it, f.ea)
  f.rot = f.rot + 1
  if newk == '' then
    f.st = 'e'
    f.cur = ''
  else
    f.cur = newk
    redis.call('DEL', KEYS[2])
    redis.call('HSET', KEYS[2], 'f', t[1], 's', '0')
    redis.call('PEXPIRE', KEYS[2], fmt(ttl_for(f.ea)))
  end
  redis.call('HSET', fkey, 'lu', fmt(f.lu), 'ie', fmt(f.ie), 'rot', fmt(f.rot), 'st', f.st,
             'cur', f.cur)
  keep_until(fkey, f.ie)
end
local outcome
if revoked(f) then
  outcome = 4
elseif cli ~= '' and cli ~= f.cli then
  outcome = 5
elseif t[2] == '1' then
  local sa = tonumber(t[3])
  if grace > 0 and f.st == 'a' and NOW - sa <= grace and t[4] and t[4] ~= '' and t[4] == f.cur then
    -- The unused successor is spent; the retrying client gets a fresh one.
    local unused = P .. f.cur
    redis.call('HSET', unused, 'f', t[1], 's', '1', 'sa', ARGV[1], 'n', newk)
    keep_until(unused, f.ea)
    redis.call('HSET', KEYS[1], 'n', newk)
    advance()
    outcome = 2
  else
    redis.call('HSET', fkey, 'st', 'r')
    f.st = 'r'
    outcome = 3
  end
else
  redis.call('HSET', KEYS[1], 's', '1', 'sa', ARGV[1], 'n', newk)
  advance()
  outcome = 1
end
return append({outcome}, view(t[1], f))
