#!lua
-- Mark the jobs of an adding job with sequence numbers in [seq, seq+n) as
-- landed (enqueued): they leave the runs of its adds record (addsrec.lua),
-- so a repeated add skips them instead of enqueueing them again. Called
-- once per AddToBatch call by a job, after its enqueue succeeded.
-- Idempotent; a gone batch or record is left alone.
-- ARGV: added by, seq, n
-- Returns the number of runs still pending.
local by, lo = ARGV[1], tonumber(ARGV[2])
local hi = lo + tonumber(ARGV[3])
local count, runs, found = adds_read(ADDS, by)
if not found then return 0 end
local left, changed = {}, false
for _, r in ipairs(runs) do
  local s, e = r[1], r[1] + r[2]
  if e <= lo or s >= hi then
    left[#left + 1] = r
  else
    changed = true
    if s < lo then left[#left + 1] = {s, lo - s, r[3], r[4]} end
    if e > hi then left[#left + 1] = {hi, e - hi, r[3] + hi - s, r[4]} end
  end
end
if changed then adds_write(ADDS, by, count, left) end
return #left
