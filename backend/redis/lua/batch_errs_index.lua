-- Data model 1 -> 2 for one batch: index its error groups in ERRC
-- (index_groups). A batch already indexed is left alone, so the step can
-- run again. Returns how many groups it indexed.
if redis.call('ZCARD', ERRC) > 0 then return 0 end
local n = index_groups()
if n > 0 then
  local ttl = redis.call('PTTL', ERRS)
  if ttl > 0 then redis.call('PEXPIRE', ERRC, ttl) end
end
return n
