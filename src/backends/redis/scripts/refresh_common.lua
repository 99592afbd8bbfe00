-- Refresh families (prepended to the refresh scripts). ARGV[2] is the key prefix, ARGV[3] the
-- user's route tag "{R}": keys derived here (a token's family, a family's user) share that tag.
local P, ROUTE = ARGV[2], ARGV[3]
local function user_key(sub) return P .. 'ru:' .. ROUTE .. ':' .. sub end
local function grants_key(sub) return P .. 'rg:' .. ROUTE .. ':' .. sub end
local function load_family(fkey)
  local v = redis.call('HMGET', fkey, 'rec', 'sub', 'cli', 'gra', 'gen', 'cg', 'st', 'cur', 'ca',
                       'lu', 'it', 'ie', 'ea', 'rot')
  if not v[1] then return nil end
  return {rec = v[1], sub = v[2], cli = v[3], gra = v[4], gen = tonumber(v[5]), cg = tonumber(v[6]),
          st = v[7], cur = v[8], ca = tonumber(v[9]), lu = tonumber(v[10]), it = tonumber(v[11]),
          ie = tonumber(v[12]), ea = tonumber(v[13]), rot = tonumber(v[14])}
end
local function unexpired(f) return NOW < f.ea and NOW < f.ie end
local function user_gens(sub, cli)
  local v = redis.call('HMGET', user_key(sub), 'g', 'c:' .. cli)
  return tonumber(v[1] or '0'), tonumber(v[2] or '0')
end
local function grant_revoked(sub, gra)
  if gra == '' then return false end
  local u = redis.call('ZSCORE', grants_key(sub), gra)
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
