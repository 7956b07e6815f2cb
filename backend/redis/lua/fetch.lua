#!lua flags=allow-oom
-- Claim up to ARGV[1] jobs of one queue for one process: pop them from the
-- head of the queue into the process's in-flight hash. Allowed at maxmemory
-- (it moves memory, and workers must keep draining).
-- KEYS: jobs, wip:<proc>, paused, bell
-- Returns the claimed payloads.
local jobs, wip, paused, bell = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local got = redis.call('LPOP', jobs, ARGV[1])
if not got then return {} end
-- Paused is checked only when there is something to claim, so that an idle
-- poll is one command.
if redis.call('EXISTS', paused) == 1 then
  -- Put them back at the head in their order (LPUSH reverses).
  local rev = {}
  for i = #got, 1, -1 do rev[#rev + 1] = got[i] end
  redis.call('LPUSH', jobs, unpack(rev))
  return {}
end
local h = {}
for _, p in ipairs(got) do
  h[#h + 1] = wipfield(p)
  h[#h + 1] = p
end
redis.call('HSET', wip, unpack(h))
-- A full chunk: more may be behind it, so wake another idle fetcher
-- (another process) to share the backlog. Under load the bell already
-- holds its one ring and this is one EXISTS; a queue drained by exactly
-- this chunk costs one needless wake-up.
if #got == tonumber(ARGV[1]) then ring(bell) end
return got
