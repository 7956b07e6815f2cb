#!lua flags=allow-oom
-- Refresh a process's lease (allowed at maxmemory: a full Redis must not
-- fence every worker). KEYS: jl:procs   ARGV: proc, expiry (ms), first
-- Returns 0 when a registered process is gone (fenced), 1 otherwise.
if ARGV[3] ~= '1' and not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
