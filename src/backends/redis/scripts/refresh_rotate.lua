-- KEYS: token, new token (absent when consuming), the route's generations and revoked grants, the
-- token's family (absent when the caller found no token). ARGV:
-- now, prefix, route, new token key (unprefixed, '' = consume), client ('' = no check), grace, the
-- token's family key (unprefixed, '' = the caller found no token), layout.
-- {0} not found; {6} garbled (nothing changed); else {outcome, view...}: 1 rotated, 2 grace
-- rotated, 3 reused, 4 revoked, 5 client mismatch.
local newk, cli, grace = ARGV[4], ARGV[5], tonumber(ARGV[6])
local f, t = load_pair(KEYS[1], ARGV[7])
if f == false then return {6} end
if not f then return {0} end
local fkey = P .. t.f
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
    redis.call('HSET', KEYS[2], 'f', t.f, 's', '0')
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
elseif t.s ~= '0' then
  -- Grace: only a retry of the same lost rotation (a token spent by being presented, whose
  -- successor is still the current, unused token).
  if grace > 0 and t.s == '1' and f.st == 'a' and NOW - t.sa <= grace and t.n ~= '' and
     t.n == f.cur then
    -- The unused successor (f.cur) is superseded by moving `cur` on: still at '0' but no longer
    -- current, it reads as state '2' (load_pair). Its TTL already covers the family's end.
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
return append({outcome}, view(t.f, f))
