#!lua flags=allow-oom
-- End one process's own wait on a queue's bell (Backend.WaitFetch, which
-- waits on the bell and on the process's wake list): push one element to
-- the wake list. The TTL removes an element no wait took (the wait had
-- returned already). Allowed at maxmemory: a few bytes, and a Quiet or a
-- Stop must not wait for memory.
-- KEYS: wake:<proc>
-- ARGV: ttl (ms)
redis.call('RPUSH', KEYS[1], '1')
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 0
