#!lua flags=allow-oom
-- A child of this batch was deleted (DeleteBatch): the batch stops waiting
-- for it, as if its complete, success and settled had reached it, and lists
-- it no more; what that makes due fires. A child not listed (a repeated
-- call) changes nothing. Allowed at maxmemory: it frees memory and may
-- unblock a batch.
-- ARGV: child id, now, horizon, linger, deadage (ms)
-- Returns {status, fired...}: 0 ok, 1 batch gone.
local child, now = ARGV[1], ARGV[2]
local m = load_meta()
if not m then return {1} end
if redis.call('SREM', KIDS, child) == 0 then return {0} end
redis.call('SREM', KIDSC, child)
redis.call('SREM', KIDSS, child)
redis.call('SREM', KIDST, child)
local fired = fire(m, now, false)
local touched = {}
if #fired > 0 then touched[1] = OUTBOX end
keep(m, {tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])}, touched)
return reply(0, fired)
