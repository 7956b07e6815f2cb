#!lua flags=allow-oom
-- Claim up to ARGV[1] jobs of one queue for one process: pop them from the
-- head of the queue into the process's in-flight hash. Allowed at maxmemory
-- (it moves memory, and workers must keep draining).
-- KEYS: jobs, wip:<proc>, paused, bell, cancel, limit
-- ARGV: max jobs, now (unix ms), and "wait" when sent behind a blocking
-- wait (Backend.WaitFetch), whose now is as old as the wait
-- Returns the claimed payloads, followed by the 1-based positions (integers)
-- of those cancelled while queued, if any, and when the queue has a global
-- limit a 0 (a concurrency limit: its jobs hold slots their acks release)
-- or a -1 (a rate limit only). Behind a wait, a limited queue returns just
-- a -2 and claims nothing: its limits need the caller's clock now.
local jobs, wip, paused, bell = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
if ARGV[3] == 'wait' and redis.call('EXISTS', KEYS[6]) == 1 then return {-2} end
local got = redis.call('LPOP', jobs, ARGV[1])
if not got then return {} end
local popped = #got
-- Paused and limited are checked only when there is something to claim,
-- so that an idle poll is one command, and with one command for both.
local limited, slots = false, false
if redis.call('EXISTS', paused, KEYS[6]) > 0 then
  if redis.call('EXISTS', paused) == 1 then
    -- Put them back at the head in their order (LPUSH reverses).
    local rev = {}
    for i = #got, 1, -1 do rev[#rev + 1] = got[i] end
    redis.call('LPUSH', jobs, unpack(rev))
    return {}
  end
  -- Not paused: the queue has a global limit (limitlib.lua); the jobs
  -- over it move aside.
  limited = true
  got, slots = limit_admit(string.sub(jobs, 1, -5), got, tonumber(ARGV[2]))
  local mark = slots and 0 or -1
  if #got == 0 then
    if popped == tonumber(ARGV[1]) then ring(bell) end
    return {mark}
  end
end
local n = #got
local h = {}
for i = 1, n do
  local p = got[i]
  h[2 * i - 1] = wipfield(p)
  h[2 * i] = p
end
redis.call('HSET', wip, unpack(h))
-- A full chunk: more may be behind it, so wake another idle fetcher
-- (another process) to share the backlog. Under load the bell already
-- holds its one ring and this is one EXISTS; a queue drained by exactly
-- this chunk costs one needless wake-up.
if popped == tonumber(ARGV[1]) then ring(bell) end
-- Jobs cancelled while queued (CancelJob): the set of their ids is read
-- only while it exists. They are claimed like the others; their positions
-- follow the payloads, for the caller to acknowledge them as cancelled,
-- and their ids leave the set. Ids left when the queue runs empty name no
-- queued job: they go too.
if redis.call('EXISTS', KEYS[5]) == 1 then
  local ids = {}
  for i = 1, #h, 2 do ids[#ids + 1] = h[i] end
  local hit, gone = redis.call('SMISMEMBER', KEYS[5], unpack(ids)), {}
  for i = 1, n do
    if hit[i] == 1 then
      gone[#gone + 1] = ids[i]
      got[#got + 1] = i
    end
  end
  -- (Jobs waiting over a global limit are queued too: then the ids stay.)
  if popped < tonumber(ARGV[1]) and not (limited and redis.call('EXISTS', string.sub(jobs, 1, -5) .. 'lgroups') == 1) then
    redis.call('DEL', KEYS[5])
  elseif #gone > 0 then
    redis.call('SREM', KEYS[5], unpack(gone))
  end
end
if limited then got[#got + 1] = slots and 0 or -1 end
return got
