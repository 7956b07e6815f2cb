#!lua
-- Record a periodic job's instant, and enqueue its job with it, only if the
-- instant is later than the one stored: whoever calls it for one instant,
-- the instant is recorded (and its job pushed) once. No allow-oom flag: at
-- maxmemory Redis refuses the whole call.
-- KEYS: the queue's periodic hash, jobs, bell
-- ARGV: name, instant (unix ms), then the payload to push (absent: record
--   the instant only)
-- Returns {1 if recorded else 0, the instant stored before ('' if none)}.
local prev = redis.call('HGET', KEYS[1], ARGV[1])
local at = tonumber(ARGV[2])
if prev and tonumber(prev) >= at then return {0, prev} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] and redis.call('RPUSH', KEYS[2], ARGV[3]) == 1 then
  ring(KEYS[3]) -- the queue was empty: an idle fetcher may be waiting
end
return {1, prev or ''}
