-- KEYS: the route's generations, then (legacy layout) the user's hash of earlier releases. ARGV:
-- now, subject, client. Bumps the user's generation for one client.
local places = {{KEYS[1], 'c:' .. ARGV[2] .. ':' .. ARGV[3]}}
if KEYS[2] then places[2] = {KEYS[2], 'c:' .. ARGV[3]} end
bump(places)
return 1
