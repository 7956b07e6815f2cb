#!lua flags=allow-oom
-- Delete chosen members of a set of one queue.
-- KEYS: set, stats   ARGV: kind (z: sorted set, d: dead set, l: list), members...
-- Returns one 0/1 per member: whether this call removed it.
local out = {}
local bytes = 0
for i = 2, #ARGV do
  local n
  if ARGV[1] == 'l' then
    n = redis.call('LREM', KEYS[1], 1, ARGV[i])
  else
    n = redis.call('ZREM', KEYS[1], ARGV[i])
  end
  out[#out + 1] = n
  if n == 1 then bytes = bytes + #ARGV[i] end
end
if ARGV[1] == 'd' and bytes > 0 then redis.call('HINCRBY', KEYS[2], 'dead_bytes', -bytes) end
return out
