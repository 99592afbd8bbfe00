-- KEYS: index, expiries. ARGV: now, storage key prefix, cursor (the last key of the previous
-- page, '' = start), limit. The live members starting with the prefix, in byte order after the
-- cursor: {next cursor ('' = done), key...}; a full page looks one live key ahead, so that an
-- exactly full last page has no cursor. Reads the index in steps of `limit`, at most 64.
-- Never writes (expired members are pruned by token_put).
local prefix, cursor, limit = ARGV[2], ARGV[3], tonumber(ARGV[4])
local from = cursor ~= '' and ('(' .. cursor) or ('[' .. prefix)
local out = {''}
local last = nil  -- the page's last key, once the page is full
for _ = 1, 64 do
  local batch = redis.call('ZRANGEBYLEX', KEYS[1], from, '+', 'LIMIT', 0, limit)
  if #batch == 0 then return out end
  for _, k in ipairs(batch) do
    if string.sub(k, 1, #prefix) ~= prefix then return out end
    local e = tonumber(redis.call('ZSCORE', KEYS[2], k))
    if e and e > NOW then
      -- A live key after a full page: the listing goes on from the page's last key. None (the
      -- prefix ends, the index ends): the listing is complete, no cursor.
      if last then
        out[1] = last
        return out
      end
      out[#out + 1] = k
      if #out - 1 == limit then last = k end
    end
    from = '(' .. k
  end
  if #batch < limit then return out end
end
-- 64 steps read without deciding: continue after what was read (after the page's last key when
-- the page is full: the next page may then be empty, after many expired members).
out[1] = last or string.sub(from, 2)
return out
