#!lua flags=allow-oom
-- Delete chosen members of a set of one queue (a dead entry's shared
-- details are released: deadlib.lua).
-- KEYS: set, stats, uniq
-- ARGV: kind (z: sorted set, d: dead set, l: list), then per member:
--   member, unique lock key ('' if none), job id: a member this call
--   removes releases its job's lock (uniqlib.lua).
-- Returns one 0/1 per member: whether this call removed it.
local out = {}
local bytes, refs = 0, {}
local relkeys, relids = {}, {}
for i = 2, #ARGV, 3 do
  local n
  if ARGV[1] == 'l' then
    n = redis.call('LREM', KEYS[1], 1, ARGV[i])
  else
    n = redis.call('ZREM', KEYS[1], ARGV[i])
  end
  out[#out + 1] = n
  if n == 1 then
    bytes = bytes + #ARGV[i]
    local ref = dead_ref(ARGV[i])
    if ARGV[1] == 'd' and ref then refs[ref] = (refs[ref] or 0) + 1 end
    if ARGV[i + 1] ~= '' then
      relkeys[#relkeys + 1] = ARGV[i + 1]
      relids[#relids + 1] = ARGV[i + 2]
    end
  end
end
release_uniques(KEYS[3], relkeys, relids)
if ARGV[1] == 'd' then bytes = bytes + dead_release(KEYS[2], refs) end
if ARGV[1] == 'd' and bytes > 0 then redis.call('HINCRBY', KEYS[2], 'dead_bytes', -bytes) end
return out
