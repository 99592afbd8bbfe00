-- KEYS: the route's generations, the user's family index, then (legacy layout) the user's hash of
-- earlier releases. ARGV: now, subject. Bumps the user's generation (every family and jti issued
-- before reads as revoked, then expires on its own: no mass delete) and drops the index.
local places = {{KEYS[1], 'g:' .. ARGV[2]}}
if KEYS[3] then places[2] = {KEYS[3], 'g'} end
bump(places)
redis.call('DEL', KEYS[2])
return 1
