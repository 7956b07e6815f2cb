-- Job output records (rediskeys: {jl:out}): data hash member -> record,
-- exp zset member -> expiry (ms), meta hash bytes / dropped. Every script
-- that changes data keeps meta's bytes equal to the sum of #member +
-- #record over data, so the byte cap is checked in O(1).
local function out_bytes(meta)
  return tonumber(redis.call('HGET', meta, 'bytes') or '0')
end

-- Removes member's record; returns the bytes it freed.
local function out_remove(data, exp, member)
  local v = redis.call('HGET', data, member)
  redis.call('ZREM', exp, member)
  if not v then return 0 end
  redis.call('HDEL', data, member)
  return #member + #v
end

-- Removes up to limit records expired at now (ms); returns how many and
-- the bytes freed.
local function out_sweep(data, exp, now, limit)
  local gone = redis.call('ZRANGEBYSCORE', exp, '-inf', now, 'LIMIT', 0, limit)
  local freed = 0
  for _, m in ipairs(gone) do freed = freed + out_remove(data, exp, m) end
  return #gone, freed
end
