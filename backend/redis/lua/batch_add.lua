#!lua
-- Reserve dense indexes for jobs added to a batch.
--
-- Adds by a job (AddedBy) are idempotent. The adds hash keeps, per adding
-- job, "<count>;<seq>:<n>:<index>;...": how many sequence numbers it has
-- used, then its reservations (runs of n jobs from sequence number seq got
-- indexes from index on; adjacent runs are merged, so an adder that is not
-- interleaved with others keeps one run). Jobs with a sequence number below
-- count are not reserved again; their recorded indexes are returned so the
-- caller re-enqueues them under a dedupe key: that is exactly once when the
-- first enqueue landed and recovers the jobs when a crash came between this
-- script and the enqueue. A re-run repeating only adds it already made
-- succeeds even once the batch has finished; only new jobs are refused then.
-- ARGV: now, added by ('' for a client), seq, n, horizon, linger, deadage
-- Returns {skip, first index, index of each of the first skip jobs (-1 if
-- unknown)}, or {-1} (gone) / {-2} (finished).
local m = load_meta()
if not m then return {-1} end
local by, seq, n = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local skip, runs = 0, {}
local out = {0, m.total}
if by ~= '' then
  local v = redis.call('HGET', ADDS, by)
  local rec = 0
  if v then
    rec = tonumber(string.match(v, '^%d+')) or 0
    for s, c, i in string.gmatch(v, ';(%d+):(%d+):(%d+)') do
      runs[#runs + 1] = {tonumber(s), tonumber(c), tonumber(i)}
    end
  end
  skip = rec - seq
  if skip < 0 then skip = 0 end
  if skip > n then skip = n end
  out[1] = skip
  for p = 1, skip do out[2 + p] = -1 end
  for _, r in ipairs(runs) do
    local from, to = math.max(r[1], seq), math.min(r[1] + r[2], seq + skip)
    for s = from, to - 1 do out[3 + s - seq] = r[3] + s - r[1] end
  end
end
local k = n - skip
if k == 0 then return out end
if finished(m, ARGV[1]) then return {-2} end
local base = m.total
local touched = {}
if by ~= '' then
  local start, last = seq + skip, runs[#runs]
  if last and last[1] + last[2] == start and last[3] + last[2] == base then
    last[2] = last[2] + k
  else
    runs[#runs + 1] = {start, k, base}
  end
  local v = {tostring(seq + n)}
  for _, r in ipairs(runs) do v[#v + 1] = string.format('%d:%d:%d', r[1], r[2], r[3]) end
  redis.call('HSET', ADDS, by, table.concat(v, ';'))
  touched[1] = ADDS
end
m.total, m.pending = m.total + k, m.pending + k
redis.call('HSET', META, 'total', m.total, 'pending', m.pending)
keep(m, {tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])}, touched)
return out
