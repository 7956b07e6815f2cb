#!lua flags=allow-oom
-- Refresh a process's lease (allowed at maxmemory: a full Redis must not
-- fence every worker). KEYS: jl:procs   ARGV: proc, expiry (ms), first
-- Returns 0 when a registered process is gone (fenced), 1 otherwise.
-- ZADD XX CH refreshes only a listed process (the recoverer unlists a
-- process before taking its jobs) and says whether it did: one command
-- per beat. It also says 0 for an unchanged expiry (two beats in one
-- millisecond), which ZSCORE tells apart.
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
  return 1
end
if redis.call('ZADD', KEYS[1], 'XX', 'CH', ARGV[2], ARGV[1]) == 1 then return 1 end
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 1 end
return 0
