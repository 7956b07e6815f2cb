-- Acknowledge the jobs whose ids are ARGV: ONE variadic HDEL from the
-- in-flight hash and ONE HINCRBY of the queue's processed counter.
-- KEYS: wip, stats
-- Returns the number of ids acknowledged.
redis.call('HDEL', KEYS[1], unpack(ARGV))
redis.call('HINCRBY', KEYS[2], 'processed', #ARGV)
return #ARGV
