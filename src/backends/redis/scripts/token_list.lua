-- Client tokens by key prefix: SCAN (never KEYS), cost follows the keyspace. No KEYS: the keys
-- it reads are found by SCAN (standalone servers only).
-- ARGV: now, MATCH pattern, scan cursor, skip (keys of that SCAN batch already returned), limit,
-- prefix length to strip. Values are "<expires_at>:<blob>", expires_at 0 = never.
-- Returns {cursor, skip, key...}: resume with SCAN cursor `cursor` skipping `skip` keys of its batch;
-- cursor "0" with skip 0 means done.
local pattern, cursor, skip = ARGV[2], ARGV[3], tonumber(ARGV[4])
local limit, strip = tonumber(ARGV[5]), tonumber(ARGV[6])
local out = {}
for _ = 1, 64 do
  local r = redis.call('SCAN', cursor, 'MATCH', pattern, 'COUNT', 1000)
  local keys = r[2]
  for i = skip + 1, #keys do
    -- pcall: a key of another type under the prefix is skipped (read as absent), not an error.
    local head = redis.pcall('GETRANGE', keys[i], 0, 20)
    local colon = type(head) == 'string' and string.find(head, ':', 1, true)
    local e = colon and tonumber(string.sub(head, 1, colon - 1))
    if e and (e == 0 or e > NOW) then
      if #out == limit then
        table.insert(out, 1, i - 1)
        table.insert(out, 1, cursor)
        return out
      end
      out[#out + 1] = string.sub(keys[i], strip + 1)
    end
  end
  skip = 0
  cursor = r[1]
  if cursor == '0' then break end
end
table.insert(out, 1, 0)
table.insert(out, 1, cursor)
return out
