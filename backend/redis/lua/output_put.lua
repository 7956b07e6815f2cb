#!lua
-- Store job output or progress records, within the global byte cap.
-- KEYS: data, exp, meta (outputlib.lua)
-- ARGV: now (ms), expiry of the written records (ms), byte cap, sweep
--   limit, then member, record pairs.
-- First removes up to the sweep limit of expired records. A progress
-- record ('P') never replaces a final one ('S'): a late write of a job
-- that already succeeded changes nothing. A record that would take the
-- bytes past the cap is not stored: it is counted in meta's dropped and
-- the member's previous record is removed (no stale progress stays).
-- Returns the number of records stored.
local data, exp, meta = KEYS[1], KEYS[2], KEYS[3]
local cap = tonumber(ARGV[3])
local _, freed = out_sweep(data, exp, ARGV[1], tonumber(ARGV[4]))
local bytes = out_bytes(meta) - freed
local stored, dropped = 0, 0
for i = 5, #ARGV, 2 do
  local m, v = ARGV[i], ARGV[i + 1]
  local old = redis.call('HGET', data, m)
  if not (old and string.sub(v, 1, 1) == 'P' and string.sub(old, 1, 1) == 'S') then
    local size = #m + #v
    local oldsize = 0
    if old then oldsize = #m + #old end
    if bytes - oldsize + size > cap then
      bytes = bytes - out_remove(data, exp, m)
      dropped = dropped + 1
    else
      redis.call('HSET', data, m, v)
      redis.call('ZADD', exp, ARGV[2], m)
      bytes = bytes - oldsize + size
      stored = stored + 1
    end
  end
end
redis.call('HSET', meta, 'bytes', bytes)
if dropped > 0 then redis.call('HINCRBY', meta, 'dropped', dropped) end
return stored
