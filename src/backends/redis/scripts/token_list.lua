-- Client tokens by key prefix: SCAN (never KEYS), cost follows the keyspace. No KEYS: the keys
-- it reads are found by SCAN (standalone servers only).
-- ARGV: now, MATCH pattern, scan cursor, after (1 + the rank of the last key returned from that
-- SCAN step, 0 = none), limit, prefix length to strip, check (see below; 0 = none). Values are
-- "<expires_at>:<blob>", expires_at 0 = never.
-- A page ends between SCAN steps: a step that does not fit is scanned again from the same
-- cursor with a smaller COUNT (down to one hash bucket). Resuming inside a step is unsafe: keys
-- that expire between pages leave it, and a table resized meanwhile gives the same cursor other
-- keys, so a count of keys to skip (or any position) would skip live keys. Only when one bucket
-- holds more live keys than a page does a page end inside it: its keys go by rank (the first 48
-- bits of the SHA-1 of the name), the page ends after a rank, and `check` (the sum of the ranks
-- of the bucket's live keys, mod 2^48) lets the next page see whether the bucket is still the
-- same; if not, it starts the bucket again (keys may repeat, as SCAN allows; none is skipped).
-- Returns {cursor, after, check, key...}: resume with SCAN cursor `cursor` after `after`;
-- cursor "0" with after 0 means done.
local pattern, cursor, after = ARGV[2], ARGV[3], tonumber(ARGV[4]) - 1
local limit, strip, check = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local M48 = 281474976710656
local out = {}
local function by_rank(a, b) return a[1] < b[1] end
-- The live keys of a step by rank, and the sum of their ranks.
local function live_keys(names)
  local batch, sum = {}, 0
  for _, k in ipairs(names) do
    -- pcall: a key of another type under the prefix is skipped (read as absent), not an error.
    local head = redis.pcall('GETRANGE', k, 0, 20)
    local colon = type(head) == 'string' and string.find(head, ':', 1, true)
    local x = colon and tonumber(string.sub(head, 1, colon - 1))
    if x and (x == 0 or x > NOW) then
      local rank = tonumber(string.sub(redis.sha1hex(k), 1, 12), 16)
      batch[#batch + 1] = {rank, k}
      sum = (sum + rank) % M48
    end
  end
  table.sort(batch, by_rank)
  return batch, sum
end
local function page(c, a, sum)
  table.insert(out, 1, sum)
  table.insert(out, 1, a)
  table.insert(out, 1, c)
  return out
end
-- Resuming inside a bucket: the same one-bucket step, if it is unchanged.
local count = after >= 0 and 1 or 1000
for _ = 1, 64 do
  local r = redis.call('SCAN', cursor, 'MATCH', pattern, 'COUNT', count)
  local batch, sum = live_keys(r[2])
  if after >= 0 then
    if sum ~= check then after = -1 end  -- the bucket changed: start it again
    local rest = {}
    for _, e in ipairs(batch) do
      if e[1] > after then rest[#rest + 1] = e end
    end
    batch = rest
  end
  local room = limit - #out
  if #batch <= room then
    for _, e in ipairs(batch) do out[#out + 1] = string.sub(e[2], strip + 1) end
    after = -1
    count = 1000
    cursor = r[1]
    if cursor == '0' then break end
  elseif count > 1 then
    count = math.max(1, math.floor(count / 8))  -- the same cursor, fewer buckets
  elseif #out > 0 then
    return page(cursor, 0, 0)  -- the next page starts with this bucket
  else
    for i = 1, room do out[#out + 1] = string.sub(batch[i][2], strip + 1) end
    return page(cursor, batch[room][1] + 1, sum)
  end
end
return page(cursor, after + 1, 0)
