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
local nargs = #ARGV
-- The locks the call's unique jobs ask for, read at once.
local lockkeys = {}
local i = 3
while i <= nargs do
  if #ARGV[i] > 1 then
    lockkeys[#lockkeys + 1] = ARGV[i + 4]
    i = i + 6
  else
    i = i + 4
  end
end
local held = uniq_held(uniq, lockkeys, now)
local push, zadd, take = {}, {}, {}
local skipped = {}
local pos = 0
i = 3
while i <= nargs do
  local mode, score, id, payload = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local m = string.sub(mode, 1, 1)
  pos = pos + 1
  local dup = nil
  if m == 'N' or m == 'S' then
    if not redis.call('SET', prefix .. 'once:' .. id, '1', 'NX', 'PX', ttl) then dup = id end
  end
  if #mode > 1 then
    local key = ARGV[i + 4]
    if not dup then
      dup = held[key]
      if not dup then
        held[key] = id -- a later job of this call with the key duplicates this one
        take[#take + 1] = key
        take[#take + 1] = ARGV[i + 5]
      end
    end
    i = i + 6
  else
    i = i + 4
  end
  if dup then
    skipped[#skipped + 1] = pos
    skipped[#skipped + 1] = dup
  elseif m == 's' or m == 'S' then
    zadd[#zadd + 1] = score
    zadd[#zadd + 1] = payload
  else
    push[#push + 1] = payload
  end
end
if #take > 0 then redis.call('HSET', uniq, unpack(take)) end
if #push > 0 and redis.call('RPUSH', jobs, unpack(push)) == #push then
  ring(prefix .. 'bell') -- the queue was empty: an idle fetcher may be waiting
end
if #zadd > 0 then redis.call('ZADD', sched, unpack(zadd)) end
return skipped
