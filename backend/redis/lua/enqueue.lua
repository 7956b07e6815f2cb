#!lua
-- Enqueue a chunk of jobs of one queue, all or nothing (no allow-oom flag:
-- at maxmemory Redis refuses the whole call with OOM).
-- KEYS: jobs, sched, queue key prefix "{jl:q:<q>}:" (for once:<id> and bell)
-- ARGV: once TTL (ms), then per job: mode, score, id, payload
--   mode n: push now; s: schedule at score;
--   N, S: the same, but only if "once:<id>" was not set yet (callbacks).
-- Returns the positions (1-based, in ARGV order) of the jobs skipped as
-- duplicates: empty when every job was stored.
local jobs, sched, prefix = KEYS[1], KEYS[2], KEYS[3]
local ttl = ARGV[1]
local push, zadd = {}, {}
local skipped = {}
for i = 2, #ARGV, 4 do
  local mode = ARGV[i]
  local ok = true
  if mode == 'N' or mode == 'S' then
    ok = redis.call('SET', prefix .. 'once:' .. ARGV[i + 2], '1', 'NX', 'PX', ttl)
  end
  if not ok then
    skipped[#skipped + 1] = (i - 2) / 4 + 1
  else
    if mode == 's' or mode == 'S' then
      zadd[#zadd + 1] = ARGV[i + 1]
      zadd[#zadd + 1] = ARGV[i + 3]
    else
      push[#push + 1] = ARGV[i + 3]
    end
  end
end
if #push > 0 and redis.call('RPUSH', jobs, unpack(push)) == #push then
  ring(prefix .. 'bell') -- the queue was empty: an idle fetcher may be waiting
end
if #zadd > 0 then redis.call('ZADD', sched, unpack(zadd)) end
return skipped
