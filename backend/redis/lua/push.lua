#!lua
-- Push jobs due now to the tail of their queue, and ring its bell when the
-- queue was empty (an idle fetcher may be waiting). The common enqueue:
-- one call per queue and chunk. No allow-oom flag: at maxmemory Redis
-- refuses the whole call with OOM.
-- KEYS: jobs, bell   ARGV: the payloads
-- Returns the queue's new length.
local n = redis.call('RPUSH', KEYS[1], unpack(ARGV))
if n == #ARGV then ring(KEYS[2]) end
return n
