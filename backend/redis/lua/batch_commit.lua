#!lua flags=allow-oom
-- Commit a batch's population; fires complete/success if already done (an
-- empty batch fires at once).
-- ARGV: now, horizon, linger, deadage
-- Returns {status, fired...}: 0 ok, -1 gone, -2 expired before commit.
local now = ARGV[1]
local m = load_meta()
if not m then return {-1} end
if not m.committed_at then
  if finished(m, now) and m.expired then return {-2} end
  redis.call('HSET', META, 'committed_at', now)
  m.committed_at = now
end
local fired = fire(m, now, false)
local touched = {}
if #fired > 0 then touched[1] = OUTBOX end
keep(m, {tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])}, touched)
return reply(0, fired)
