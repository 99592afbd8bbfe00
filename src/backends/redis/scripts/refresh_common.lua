-- Refresh families (prepended to the refresh scripts). ARGV[2] is the key prefix, ARGV[3] the
-- user's route tag "{R}": keys derived here (a token's family, a family's user) share that tag.
-- The LAST ARGV is the layout flag: '1' also reads (and, in the scripts that write them, writes)
-- the per-user generations and revoked grants of releases before the route-named ones ("ru:",
-- "rg:"; docs/redis.md, "Generations and revoked grants"), '0' only the route-named ones.
-- Stored fields are checked before use: a garbled field (not an integer, an unknown state) makes
-- the family or token read as corrupt (absent; the store counts it) and never raises a Lua error.
local P, ROUTE, LEGACY = ARGV[2], ARGV[3], ARGV[#ARGV] == '1'
-- Route-named: the generations of every user of the route (fields 'g:<sub>', 'c:<sub>:<cli>') and
-- their revoked grants (members '<sub>:<grant>'): a caller knowing only a token's route declares them.
local GENS, GRANTS = P .. 'rs:' .. ROUTE, P .. 'rx:' .. ROUTE
-- The per-user keys of earlier releases (legacy layout only).
local function user_key(sub) return P .. 'ru:' .. ROUTE .. ':' .. sub end
local function grants_key(sub) return P .. 'rg:' .. ROUTE .. ':' .. sub end
-- A stored integer (decimal, at most 15 digits: exact in a Lua number), else nil.
local function int(v)
  if type(v) ~= 'string' or #v > 16 or not string.match(v, '^%-?%d+$') then return nil end
  return tonumber(v)
end
local function str(v) if type(v) == 'string' then return v end return nil end
-- nil: no family; false: a garbled family; else its fields.
local function load_family(fkey)
  local v = redis.call('HMGET', fkey, 'rec', 'sub', 'cli', 'gra', 'gen', 'cg', 'st', 'cur', 'ca',
                       'lu', 'it', 'ie', 'ea', 'rot')
  if not v[1] then return nil end
  local f = {rec = v[1], sub = str(v[2]), cli = str(v[3]), gra = str(v[4]), gen = int(v[5]),
             cg = int(v[6]), st = v[7], cur = str(v[8]), ca = int(v[9]), lu = int(v[10]),
             it = int(v[11]), ie = int(v[12]), ea = int(v[13]), rot = int(v[14])}
  if not (f.sub and f.cli and f.gra and f.cur and f.gen and f.cg and f.ca and f.lu and f.it and
          f.ie and f.ea and f.rot) or (f.st ~= 'a' and f.st ~= 'r' and f.st ~= 'e') then
    return false
  end
  return f
end
-- A token: nil when absent or linked to another family than `expected` (the family its text
-- names, or that the caller read first for a v1 token; '' when the caller found no token: one
-- that appeared since is not read further, its family being undeclared); false when garbled; else {f = family key, s = state, sa = spent at, n =
-- successor}. State '0' current, '1' spent by being presented, '2' superseded by a grace
-- rotation of its predecessor (never grace-eligible). A current token is its family's `cur`; a
-- token still at '0' that is not (load_pair) was superseded: a grace retry leaves it as it is,
-- since its key (the family's `cur`) is not one the caller can declare.
local function load_token(tkey, expected)
  local t = redis.call('HMGET', tkey, 'f', 's', 'sa', 'n')
  if not t[1] then return nil end
  if t[1] ~= expected then return nil end
  local tok = {f = t[1], s = t[2], sa = 0, n = str(t[4]) or ''}
  if tok.s ~= '0' and tok.s ~= '1' and tok.s ~= '2' then return false end
  if tok.s ~= '0' then
    tok.sa = int(t[3])
    if not tok.sa then return false end
  end
  return tok
end
-- Family and token together: nil absent (or expired), false garbled, else f, t.
local function load_pair(tkey, expected)
  local t = load_token(tkey, expected)
  if not t then return t end
  local f = load_family(P .. t.f)
  if f == false then return false end
  if not f or not (NOW < f.ea and NOW < f.ie) then return nil end
  local current = P .. f.cur == tkey
  if t.s ~= '0' and current then return false end
  if t.s == '0' and not current then t.s = '2' end
  return f, t
end
local function unexpired(f) return NOW < f.ea and NOW < f.ie end
-- The user's generation and the client's (missing = 0; garbled = nil: every family reads as
-- revoked, and issue / jti_store refuse to capture it). Legacy layout: the higher of the two places
-- (a revocation by this release writes both alike; one by an earlier release only the old one).
local function user_gens(sub, cli)
  local v = redis.call('HMGET', GENS, 'g:' .. sub, 'c:' .. sub .. ':' .. cli)
  local g, c = int(v[1] or '0'), int(v[2] or '0')
  if LEGACY then
    local o = redis.call('HMGET', user_key(sub), 'g', 'c:' .. cli)
    local og, oc = int(o[1] or '0'), int(o[2] or '0')
    g = g and og and math.max(g, og)
    c = c and oc and math.max(c, oc)
  end
  return g, c
end
-- The user's generations outlive every family and jti that captured them (a missing place reads
-- as 0: were it to expire first, a revoked family would read as live again).
local function keep_user(sub, until_ms)
  redis.call('HSETNX', GENS, 'g:' .. sub, '0')
  keep_until(GENS, until_ms)
  if LEGACY then
    redis.call('HSETNX', user_key(sub), 'g', '0')
    keep_until(user_key(sub), until_ms)
  end
end
local function grant_revoked(sub, gra)
  if gra == '' then return false end
  local u = redis.call('ZSCORE', GRANTS, sub .. ':' .. gra)
  if u and tonumber(u) > NOW then return true end
  if not LEGACY then return false end
  u = redis.call('ZSCORE', grants_key(sub), gra)
  return u and tonumber(u) > NOW
end
local function revoked(f)
  if f.st == 'r' then return true end
  local g, c = user_gens(f.sub, f.cli)
  if g ~= f.gen or c ~= f.cg then return true end
  return grant_revoked(f.sub, f.gra) and true or false
end
-- family key (unprefixed), record, created_at, last_used_at, idle_expires_at, expires_at, rotations
local function view(fk, f)
  return {fk, f.rec, fmt(f.ca), fmt(f.lu), fmt(f.ie), fmt(f.ea), fmt(f.rot)}
end
local function append(out, t) for _, x in ipairs(t) do out[#out + 1] = x end return out end
