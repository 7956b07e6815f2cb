#!lua
-- Reserve dense indexes for jobs added to a batch.
--
-- Adds by a job (AddedBy) are idempotent: the adds hash keeps one record
-- per adding job (addsrec.lua): how many sequence numbers it has used and
-- its pending runs, the reservations whose enqueue has not been marked
-- landed (batch_landed.lua). Jobs with a sequence number below count are
-- not reserved again: a landed one is skipped, a pending one's recorded
-- index is returned so the caller enqueues it again (same ID, same index).
-- That recovers the jobs when a crash came between this script and the
-- enqueue; when it came between the enqueue and the landed mark, the job is
-- queued twice, which at-least-once delivery allows and the batch counts
-- once (both copies carry the same index). A re-run repeating only adds it
-- already made succeeds even once the batch has finished; only new jobs are
-- refused then.
-- ARGV: now, added by ('' for a client), seq, n, horizon, linger, deadage
-- Returns {skip, first index, legacy, index of each of the first skip jobs
-- (-1: landed, skip it)}, or {-1} (gone) / {-2} (finished). legacy is 1
-- when a returned index comes from a legacy run, to enqueue under the
-- once:<id> dedupe its first enqueue used.
local m = load_meta()
if not m then return {-1} end
local by, seq, n = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local skip, count, runs = 0, 0, {}
local out = {0, m.total, 0}
if by ~= '' then
  count, runs = adds_read(ADDS, by)
  skip = count - seq
  if skip < 0 then skip = 0 end
  if skip > n then skip = n end
  out[1] = skip
  for p = 1, skip do out[3 + p] = -1 end
  for _, r in ipairs(runs) do
    local from, to = math.max(r[1], seq), math.min(r[1] + r[2], seq + skip)
    for s = from, to - 1 do out[4 + s - seq] = r[3] + s - r[1] end
    if r[4] and from < to then out[3] = 1 end
  end
end
local k = n - skip
if k == 0 then return out end
if finished(m, ARGV[1]) then return {-2} end
local base = m.total
local touched = {}
if by ~= '' then
  local start, last = seq + skip, runs[#runs]
  if last and not last[4] and last[1] + last[2] == start and last[3] + last[2] == base then
    last[2] = last[2] + k
  else
    runs[#runs + 1] = {start, k, base, false}
  end
  adds_write(ADDS, by, seq + n, runs)
  touched[1] = ADDS
end
m.total, m.pending = m.total + k, m.pending + k
redis.call('HSET', META, 'total', m.total, 'pending', m.pending)
keep(m, {tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])}, touched)
return out
