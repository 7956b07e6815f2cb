-- Removes keys of one joblot batch if the reason they were judged
-- removable still holds. All keys share the batch's hash tag (one slot).
-- KEYS[1] = {jl:b:<id>}:meta, KEYS[2] = {jl:b:<id>}:outbox,
-- KEYS[3..] = keys to unlink.
-- ARGV[1] = "orphan": the meta must still be missing; or "finished": the
-- meta must still have no TTL and its field ARGV[2] must still be ARGV[3].
-- ARGV[4..] = the Redis type each of KEYS[3..] must still have.
-- Returns the number of keys removed, -1 if the batch changed since it was
-- judged, -2 if its outbox holds callbacks not yet forwarded, -3 if a key
-- is no longer of its type (not joblot's: nothing is removed).
for i = 3, #KEYS do
  local t = redis.call('TYPE', KEYS[i]).ok
  if t ~= ARGV[i + 1] and t ~= 'none' then return -3 end
end
if ARGV[1] == 'orphan' then
  if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
else
  if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return -1 end
  if redis.call('PTTL', KEYS[1]) ~= -1 then return -1 end
  if redis.call('HGET', KEYS[1], ARGV[2]) ~= ARGV[3] then return -1 end
end
if redis.call('TYPE', KEYS[2]).ok == 'list' and redis.call('LLEN', KEYS[2]) > 0 then
  return -2
end
return redis.call('UNLINK', unpack(KEYS, 3))
