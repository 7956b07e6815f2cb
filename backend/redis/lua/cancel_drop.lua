#!lua flags=allow-oom
-- Remove a cancelled job from its queue's scheduled or retry set (CancelJob
-- found its entry), count it cancelled and drop its mark.
-- KEYS: set, cancel, stats   ARGV: id, member
-- Returns 1 if this call removed it, 0 if it had left the set meanwhile.
if redis.call('ZREM', KEYS[1], ARGV[2]) == 0 then return 0 end
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[3], 'cancelled', 1)
return 1
