-- Unique locks (backend.Job.Unique) are fields of their queue's :uniq hash:
-- lock key -> "<job id>", or "<job id> <expiry unix ms>" for a lock with a
-- period. The Go side reads a job's lock key from the decoded job and
-- passes it; these functions only store.

-- uniq_holder(uniq, key, now) returns the id of the job holding lock key
-- at now (unix ms), or nil when the lock is free or has expired.
local function uniq_holder(uniq, key, now)
  local v = redis.call('HGET', uniq, key)
  if not v then return nil end
  local sp = string.find(v, ' ', 1, true)
  if not sp then return v end
  if tonumber(string.sub(v, sp + 1)) <= now then return nil end
  return string.sub(v, 1, sp - 1)
end

-- release_unique(uniq, key, id) deletes lock key if job id holds it: a
-- lock another job took since (after this one's expired) stays.
local function release_unique(uniq, key, id)
  local v = redis.call('HGET', uniq, key)
  if v and (v == id or string.sub(v, 1, #id + 1) == id .. ' ') then
    redis.call('HDEL', uniq, key)
  end
end
