#!lua
-- Ring a queue's bell after a plain RPUSH of its jobs (Enqueue), unless the
-- queue is paused: a woken fetcher would pop a paused queue's head and put
-- it back for nothing (resume.lua rings when it resumes). Sent in the
-- push's pipeline, so the payloads never pass through Lua (see
-- redis.Backend.Enqueue). No allow-oom flag: at maxmemory the ring is
-- refused, the jobs are in, and an idle fetcher finds them at its
-- IdleWaitTimeout.
-- KEYS: bell, paused
if redis.call('EXISTS', KEYS[2]) == 0 then ring(KEYS[1]) end
return 0
