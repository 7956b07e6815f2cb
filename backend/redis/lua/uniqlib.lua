-- Unique locks (backend.Job.Unique) are fields of their queue's :uniq hash:
-- lock key -> "<job id>", or "<job id> <expiry unix ms>" for a lock with a
-- period. The Go side reads a job's lock key from the decoded job and
-- passes it; these functions only store. Each takes or releases the locks
-- of a whole call with one HMGET and one write, not a command per job.

-- uniq_parse(v) returns the holder's id and the expiry (nil: none) of a
-- lock's value.
local function uniq_parse(v)
  local sp = string.find(v, ' ', 1, true)
  if not sp then return v, nil end
  return string.sub(v, 1, sp - 1), tonumber(string.sub(v, sp + 1))
end

-- uniq_held(uniq, keys, now) returns a table lock key -> holder id of the
-- locks among keys that a job holds at now (unix ms): expired ones are
-- free.
local function uniq_held(uniq, keys, now)
  local held = {}
  if #keys == 0 then return held end
  local vals = redis.call('HMGET', uniq, unpack(keys))
  for k, key in ipairs(keys) do
    if vals[k] then
      local id, exp = uniq_parse(vals[k])
      if not exp or exp > now then held[key] = id end
    end
  end
  return held
end

-- release_uniques(uniq, keys, ids) deletes each lock keys[i] that job
-- ids[i] holds: a lock another job took since (after this one's expired)
-- stays.
local function release_uniques(uniq, keys, ids)
  if #keys == 0 then return end
  local vals = redis.call('HMGET', uniq, unpack(keys))
  local del = {}
  for k, key in ipairs(keys) do
    if vals[k] and uniq_parse(vals[k]) == ids[k] then del[#del + 1] = key end
  end
  if #del > 0 then redis.call('HDEL', uniq, unpack(del)) end
end
