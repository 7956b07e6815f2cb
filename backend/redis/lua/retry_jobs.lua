#!lua flags=allow-oom
-- Move chosen members of a scheduled, retry or dead set to the queue's tail
-- (a dead entry's shared details are released: deadlib.lua).
-- KEYS: set, jobs, stats, bell   ARGV: is dead set (1/0), then pairs member, new payload
-- Returns how many moved.
local moved, bytes, refs = 0, 0, {}
for i = 2, #ARGV, 2 do
  if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then
    redis.call('RPUSH', KEYS[2], ARGV[i + 1])
    moved = moved + 1
    bytes = bytes + #ARGV[i]
    local ref = dead_ref(ARGV[i])
    if ARGV[1] == '1' and ref then refs[ref] = (refs[ref] or 0) + 1 end
  end
end
if moved > 0 then ring(KEYS[4]) end
if ARGV[1] == '1' then bytes = bytes + dead_release(KEYS[3], refs) end
if ARGV[1] == '1' and bytes > 0 then redis.call('HINCRBY', KEYS[3], 'dead_bytes', -bytes) end
return moved
