#!lua
-- Enqueue a chunk of jobs of one queue, all or nothing (no allow-oom flag:
-- at maxmemory Redis refuses the whole call with OOM).
-- KEYS: jobs, sched, queue key prefix "{jl:q:<q>}:" (for once:<id> and bell),
--   uniq (the queue's unique locks)
-- ARGV: once TTL (ms), now (unix ms), then per job: mode, score, id,
--   payload, and for a unique job (mode ending in 'u') lock key, lock value
--   mode n: push now; s: schedule at score;
--   N, S: the same, but only if "once:<id>" was not set yet (callbacks);
--   a trailing u: only if no other job holds the lock key (uniqlib.lua),
--   which the job then takes.
-- Returns, per job skipped as a duplicate, its position (1-based, in job
-- order) and the id of the job it duplicates: empty when every job was
-- stored.
local jobs, sched, prefix, uniq = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local ttl, now = ARGV[1], tonumber(ARGV[2])
local push, zadd = {}, {}
local skipped = {}
local i, pos = 3, 0
while i <= #ARGV do
  local mode, id = ARGV[i], ARGV[i + 2]
  local payload = ARGV[i + 3]
  local m = string.sub(mode, 1, 1)
  pos = pos + 1
  local dup = nil
  if m == 'N' or m == 'S' then
    if not redis.call('SET', prefix .. 'once:' .. id, '1', 'NX', 'PX', ttl) then dup = id end
  end
  local lockkey = nil
  if #mode > 1 then
    lockkey = ARGV[i + 4]
    if not dup then
      dup = uniq_holder(uniq, lockkey, now)
      if not dup then redis.call('HSET', uniq, lockkey, ARGV[i + 5]) end
    end
  end
  if dup then
    skipped[#skipped + 1] = pos
    skipped[#skipped + 1] = dup
  elseif m == 's' or m == 'S' then
    zadd[#zadd + 1] = ARGV[i + 1]
    zadd[#zadd + 1] = payload
  else
    push[#push + 1] = payload
  end
  if lockkey then i = i + 6 else i = i + 4 end
end
if #push > 0 and redis.call('RPUSH', jobs, unpack(push)) == #push then
  ring(prefix .. 'bell') -- the queue was empty: an idle fetcher may be waiting
end
if #zadd > 0 then redis.call('ZADD', sched, unpack(zadd)) end
return skipped
