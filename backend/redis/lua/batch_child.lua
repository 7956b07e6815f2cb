#!lua
-- Register a child batch with this (parent) batch, idempotently. The
-- parent's complete then waits for the child's complete callback to
-- succeed, its success for the child's success callback, and its settled,
-- unless it has settled already, for the child's settled callback. Registering a
-- child already registered is a no-op even once the parent has finished (a
-- re-run of the job that created it).
-- ARGV: child id, now, horizon, linger, deadage (ms)
-- Returns {0}, {-1} when the parent is gone, {-2} when it is finished.
local m = load_meta()
if not m then return {-1} end
if redis.call('SISMEMBER', KIDS, ARGV[1]) == 1 then return {0} end
if finished(m, ARGV[2]) then return {-2} end
redis.call('SADD', KIDS, ARGV[1])
redis.call('SADD', KIDSC, ARGV[1])
redis.call('SADD', KIDSS, ARGV[1])
local touched = {KIDS, KIDSC, KIDSS}
if not m.settled_at then
  redis.call('SADD', KIDST, ARGV[1])
  touched[#touched + 1] = KIDST
end
keep(m, {tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])}, touched)
return {0}
