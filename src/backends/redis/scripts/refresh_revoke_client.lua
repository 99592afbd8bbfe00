-- KEYS: the route's generations, then (legacy layout) the user's hash of earlier releases. ARGV:
-- now, subject, client, remember_until. Bumps the user's generation for one client and records the
-- client's logout for grant_live.
local places = {{KEYS[1], 'c:' .. ARGV[2] .. ':' .. ARGV[3]}}
if KEYS[2] then places[2] = {KEYS[2], 'c:' .. ARGV[3]} end
bump(places)
record_logout(KEYS[1], 'a:' .. ARGV[2] .. ':' .. ARGV[3], tonumber(ARGV[4]))
return 1
