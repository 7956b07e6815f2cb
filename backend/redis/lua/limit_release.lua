#!lua flags=allow-oom
-- Release the concurrency slots of jobs of one process being acknowledged
-- (limitlib.lua): run just before their complete.lua call, in the same
-- pipeline. Only a job still in the process's in-flight hash releases (a
-- job recovered meanwhile released its slot with its recovery). Allowed at
-- maxmemory: it frees memory, and acks must go on.
-- KEYS: wip, jobs, bell
-- ARGV: the in-flight fields (job ids) of the jobs acknowledged
-- Returns how many waiting jobs went back to the queue.
local prefix = string.sub(KEYS[2], 1, -5)
local moved = 0
for _, id in ipairs(ARGV) do
  if redis.call('HEXISTS', KEYS[1], id) == 1 then
    moved = moved + limit_release(prefix, id, KEYS[2])
  end
end
if moved > 0 then ring(KEYS[3]) end
return moved
