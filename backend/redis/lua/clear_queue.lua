-- clear_queue: take up to ARGV[1] jobs from the head of a queue for
-- removal. They move to the queue's :clearing list (same slot) first, so a
-- clear interrupted before their batches counted them resumes with them.
-- KEYS[1] :jobs   KEYS[2] :clearing
-- Returns the payloads now in :clearing.
if redis.call('LLEN', KEYS[2]) == 0 then
  local moved = redis.call('LPOP', KEYS[1], tonumber(ARGV[1]))
  if moved then
    redis.call('RPUSH', KEYS[2], unpack(moved))
  end
end
return redis.call('LRANGE', KEYS[2], 0, -1)
