#!lua flags=allow-oom
-- A child of this batch reports an event: its complete, settled or success
-- callback succeeded (or it had none), or it had a death. A child this
-- batch does not wait for (a repeated report, or a child registered before
-- settled existed) changes nothing.
-- ARGV: child id, event, now, horizon, linger, deadage
-- Returns {status, fired...}: 0 ok, 1 batch gone.
local child, ev, now = ARGV[1], ARGV[2], ARGV[3]
local m = load_meta()
if not m then return {1} end
local death = false
if ev == 'complete' then
  if redis.call('SREM', KIDSC, child) == 0 then return {0} end
elseif ev == 'success' then
  if redis.call('SREM', KIDSS, child) == 0 then return {0} end
elseif ev == 'settled' then
  if redis.call('SREM', KIDST, child) == 0 then return {0} end
elseif ev == 'death' then
  death = true
end
local fired = fire(m, now, death)
local touched = {}
if #fired > 0 then touched[1] = OUTBOX end
keep(m, {tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])}, touched)
return reply(0, fired)
