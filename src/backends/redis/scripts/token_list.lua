-- KEYS: index, expiries. ARGV: now, storage key prefix, cursor (the last key of the previous
-- page, '' = start), limit. The live members starting with the prefix, in byte order after the
-- cursor: {next cursor ('' = done), key...}. Reads the index in steps of `limit`, at most 64.
-- Never writes (expired members are pruned by token_put).
local prefix, cursor, limit = ARGV[2], ARGV[3], tonumber(ARGV[4])
local from = cursor ~= '' and ('(' .. cursor) or ('[' .. prefix)
local out = {''}
for _ = 1, 64 do
  local batch = redis.call('ZRANGEBYLEX', KEYS[1], from, '+', 'LIMIT', 0, limit)
  if #batch == 0 then return out end
  for _, k in ipairs(batch) do
    if string.sub(k, 1, #prefix) ~= prefix then return out end
    local e = tonumber(redis.call('ZSCORE', KEYS[2], k))
    if e and e > NOW then
      out[#out + 1] = k
      if #out - 1 == limit then
        out[1] = k
        return out
      end
    end
    from = '(' .. k
  end
  if #batch < limit then return out end
end
out[1] = string.sub(from, 2)
return out
