#!lua flags=allow-oom
-- Move due scheduled and retry jobs of one queue to its tail.
-- KEYS: sched, retry, jobs, bell   ARGV: now (ms), limit
-- Returns how many moved.
local moved = 0
local limit = tonumber(ARGV[2])
for _, z in ipairs({KEYS[1], KEYS[2]}) do
  local left = limit - moved
  if left <= 0 then break end
  local due = redis.call('ZRANGEBYSCORE', z, '-inf', ARGV[1], 'LIMIT', 0, left)
  if #due > 0 then
    redis.call('ZREM', z, unpack(due))
    if redis.call('RPUSH', KEYS[3], unpack(due)) == #due then ring(KEYS[4]) end
    moved = moved + #due
  end
end
return moved
