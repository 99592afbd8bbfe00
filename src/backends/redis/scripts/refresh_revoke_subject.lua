-- KEYS: the route's generations, the user's family index, then (legacy layout) the user's hash of
-- earlier releases. ARGV: now, subject, remember_until. Bumps the user's generation (every family
-- and jti issued before reads as revoked, then expires on its own: no mass delete), records the
-- logout for grant_live and drops the index (UNLINK: its cost does not follow the families it holds).
local places = {{KEYS[1], 'g:' .. ARGV[2]}}
if KEYS[3] then places[2] = {KEYS[3], 'g'} end
bump(places)
record_logout(KEYS[1], 'a:' .. ARGV[2], tonumber(ARGV[3]))
redis.call('UNLINK', KEYS[2])  -- a large index is freed off Redis's main thread
return 1
