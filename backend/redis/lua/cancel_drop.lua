#!lua flags=allow-oom
-- Remove a cancelled job from its queue's scheduled or retry set (CancelJob
-- found its entry), count it cancelled, drop its mark and release its
-- unique lock, if it holds one: it leaves the store.
-- KEYS: set, cancel, stats, uniq   ARGV: id, member, unique lock key or ""
-- Returns 1 if this call removed it, 0 if it had left the set meanwhile.
if redis.call('ZREM', KEYS[1], ARGV[2]) == 0 then return 0 end
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[3], 'cancelled', 1)
if ARGV[3] ~= '' then release_uniques(KEYS[4], {ARGV[3]}, {ARGV[1]}) end
return 1
