#!lua flags=allow-oom
-- Take or extend a named lease. KEYS: lease   ARGV: holder, ttl (ms)
-- Returns 1 if holder has the lease. A ttl of 0 gives the lease up if
-- holder has it (returns 0).
local cur = redis.call('GET', KEYS[1])
if ARGV[2] == '0' then
  if cur == ARGV[1] then redis.call('DEL', KEYS[1]) end
  return 0
end
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
