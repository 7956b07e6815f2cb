-- Dead entries and their shared details (backend/deadcodec.go): an entry
-- that starts with byte 2 refers, by its next 8 bytes, to details the
-- queue's stats hash keeps once: e:<ref> the details, n:<ref> how many
-- entries refer to them. Every script that adds or removes dead entries
-- keeps both (and dead_bytes counts the details once).

-- dead_ref returns the reference of entry m, or nil if it has none.
local function dead_ref(m)
  if string.byte(m, 1) == 2 and #m > 9 then return string.sub(m, 2, 9) end
  return nil
end

-- dead_add adds payload p (the entry's length in 4 bytes big-endian, the
-- entry, the details it refers to) to the dead set at score. Details that
-- differ from those already kept under the entry's reference (a hash
-- collision) are written inline instead (byte 3: the entry without the
-- reference, then the details). Returns the bytes it adds to dead_bytes: 0
-- when the entry was there.
local function dead_add(dead, stats, score, p)
  local a, b, c, d = string.byte(p, 1, 4)
  local n = ((a * 256 + b) * 256 + c) * 256 + d
  local m, det = string.sub(p, 5, 4 + n), string.sub(p, 5 + n)
  local ref = nil
  if #det > 0 then ref = dead_ref(m) end
  local have = nil
  if ref then
    have = redis.call('HGET', stats, 'e:' .. ref)
    if have and have ~= det then
      m, ref = '\3' .. string.sub(m, 10) .. det, nil
    end
  end
  if redis.call('ZADD', dead, score, m) == 0 then return 0 end
  local bytes = #m
  if ref then
    redis.call('HINCRBY', stats, 'n:' .. ref, 1)
    if not have then
      redis.call('HSET', stats, 'e:' .. ref, det)
      bytes = bytes + #det
    end
  end
  return bytes
end

-- dead_cost returns the bytes that removing entry m frees, counting its
-- details if it is their last reference once the removals already counted
-- in refs (reference -> entries) are done; it counts m in refs.
local function dead_cost(stats, refs, m)
  local ref = dead_ref(m)
  if not ref then return #m end
  refs[ref] = (refs[ref] or 0) + 1
  if refs[ref] == tonumber(redis.call('HGET', stats, 'n:' .. ref) or '0') then
    return #m + redis.call('HSTRLEN', stats, 'e:' .. ref)
  end
  return #m
end

-- dead_release drops the references of removed entries (refs: reference
-- -> entries), and the details no entry refers to any more. Returns the
-- bytes of the details dropped.
local function dead_release(stats, refs)
  local bytes = 0
  for ref, k in pairs(refs) do
    if redis.call('HINCRBY', stats, 'n:' .. ref, -k) <= 0 then
      bytes = bytes + redis.call('HSTRLEN', stats, 'e:' .. ref)
      redis.call('HDEL', stats, 'n:' .. ref, 'e:' .. ref)
    end
  end
  return bytes
end
