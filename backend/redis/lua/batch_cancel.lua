#!lua flags=allow-oom
-- Cancel a batch: its remaining jobs are skipped when fetched; complete
-- still fires, success does not.
-- ARGV: now, horizon, linger, deadage
-- Returns {status, fired...}: 0 ok, -1 gone.
local now = ARGV[1]
local m = load_meta()
if not m then return {-1} end
if not m.cancelled_at then
  redis.call('HSET', META, 'cancelled_at', now)
  m.cancelled_at = now
end
local fired = fire(m, now, false)
local touched = {}
if #fired > 0 then touched[1] = OUTBOX end
keep(m, {tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])}, touched)
return reply(0, fired)
