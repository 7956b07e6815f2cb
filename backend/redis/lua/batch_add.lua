#!lua
-- Reserve dense indexes for jobs added to a batch. Adds by a job (AddedBy)
-- are idempotent: the adds hash remembers how many jobs it has added, and
-- jobs with a sequence number below that are skipped. A re-run repeating
-- only adds it already made succeeds even once the batch has finished; only
-- new jobs are refused then.
-- ARGV: now, added by ('' for a client), seq, n, horizon, linger, deadage
-- Returns {skip, first index} or {-1} (gone) / {-2} (finished).
local m = load_meta()
if not m then return {-1} end
local by, seq, n = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local skip, rec = 0, 0
if by ~= '' then
  rec = tonumber(redis.call('HGET', ADDS, by)) or 0
  skip = rec - seq
  if skip < 0 then skip = 0 end
  if skip > n then skip = n end
end
local k = n - skip
if k == 0 then return {skip, m.total} end
if finished(m, ARGV[1]) then return {-2} end
local touched = {}
if by ~= '' then
  redis.call('HSET', ADDS, by, seq + n)
  touched[1] = ADDS
end
local base = m.total
m.total, m.pending = m.total + k, m.pending + k
redis.call('HSET', META, 'total', m.total, 'pending', m.pending)
keep(m, {tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])}, touched)
return {skip, base}
