-- Dead entries and their shared groups (backend/deadcodec.go): an entry
-- that starts with byte 2 refers, by its next 8 bytes, to the group of its
-- failure (kind, class, fingerprint, backtrace), which the queue's stats
-- hash keeps once: e:<ref> the group, m:<ref> the message of the first
-- entry that referred to it (the entries with that message leave theirs
-- out), n:<ref> how many entries refer to it. Every script that adds or
-- removes dead entries keeps them (and dead_bytes counts a group and its
-- message once).

-- dead_ref returns the reference of entry m, or nil if it has none.
local function dead_ref(m)
  if string.byte(m, 1) == 2 and #m > 9 then return string.sub(m, 2, 9) end
  return nil
end

local function dead_u32(p, i)
  local a, b, c, d = string.byte(p, i, i + 3)
  return ((a * 256 + b) * 256 + c) * 256 + d
end

-- dead_add adds a dead job to the dead set at score. Its payload p is the
-- lengths of three parts in 4 bytes big-endian each, then the parts and
-- the message: the entry that leaves its message to the group, the entry
-- that holds it, the group (backend.DeadEntry). A group that differs from
-- the one kept under its reference (a hash collision) is written inline
-- instead (byte 3: the entry without the reference, then the group's
-- fields). A payload that is not a job comes with no group and goes in as
-- it is. groups is the call's cache of the groups it read or adds (one
-- HMGET per group and call); dead_flush writes what it counted. Returns
-- the bytes it adds to dead_bytes: 0 when the entry was there.
local function dead_add(dead, stats, score, p, groups)
  local ls, lo, lg = dead_u32(p, 1), dead_u32(p, 5), dead_u32(p, 9)
  local shared = string.sub(p, 13, 12 + ls)
  local own = string.sub(p, 13 + ls, 12 + ls + lo)
  local group = string.sub(p, 13 + ls + lo, 12 + ls + lo + lg)
  local msg = string.sub(p, 13 + ls + lo + lg)
  local m, g, bytes = shared, nil, 0
  local r = nil
  if lg > 0 then r = dead_ref(shared) end
  if r then
    g = groups[r]
    if not g then
      local v = redis.call('HMGET', stats, 'e:' .. r, 'm:' .. r)
      g = {group = v[1], msg = v[2], n = 0, new = false}
      groups[r] = g
    end
    if not g.group then
      g.group, g.msg, g.new = group, msg, true
      bytes = #group + #msg
    elseif g.group ~= group then
      m, g = '\3' .. string.sub(own, 10) .. string.sub(group, 2), nil
    elseif g.msg ~= msg then
      m = own
    end
  end
  if redis.call('ZADD', dead, score, m) == 0 then
    if g and g.new and g.n == 0 then groups[r] = nil end -- nothing refers to it
    return 0
  end
  if g then g.n = g.n + 1 end
  return #m + bytes
end

-- dead_flush writes the groups dead_add counted in groups: the new ones
-- and every group's count of references.
local function dead_flush(stats, groups)
  for ref, g in pairs(groups) do
    if g.new then redis.call('HSET', stats, 'e:' .. ref, g.group, 'm:' .. ref, g.msg) end
    if g.n > 0 then redis.call('HINCRBY', stats, 'n:' .. ref, g.n) end
  end
end

-- dead_group_bytes is what the group of ref costs in dead_bytes.
local function dead_group_bytes(stats, ref)
  return redis.call('HSTRLEN', stats, 'e:' .. ref) + redis.call('HSTRLEN', stats, 'm:' .. ref)
end

-- dead_cost returns the bytes that removing entry m frees, counting its
-- group if it is the group's last reference once the removals already
-- counted in refs (reference -> entries) are done; it counts m in refs.
local function dead_cost(stats, refs, m)
  local ref = dead_ref(m)
  if not ref then return #m end
  refs[ref] = (refs[ref] or 0) + 1
  if refs[ref] == tonumber(redis.call('HGET', stats, 'n:' .. ref) or '0') then
    return #m + dead_group_bytes(stats, ref)
  end
  return #m
end

-- dead_release drops the references of removed entries (refs: reference
-- -> entries), and the groups no entry refers to any more. Returns the
-- bytes of the groups dropped.
local function dead_release(stats, refs)
  local bytes = 0
  for ref, k in pairs(refs) do
    if redis.call('HINCRBY', stats, 'n:' .. ref, -k) <= 0 then
      bytes = bytes + dead_group_bytes(stats, ref)
      redis.call('HDEL', stats, 'n:' .. ref, 'e:' .. ref, 'm:' .. ref)
    end
  end
  return bytes
end
