-- Shared by every batch_*.lua script (prepended after the shebang).
-- KEYS are always the batch's keys in this order (Layout.BatchKeys in internal/rediskeys).
local META, BITS, ERRS, OUTBOX, KIDS, KIDSC, KIDSS, ADDS, ERRC, KIDST, PDONE =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11]

local COUNTERS = {'total', 'pending', 'failing', 'succeeded', 'dead', 'discarded', 'cancelled', 'removed'}

-- load_meta reads counters and flags; nil when the batch is gone (a script
-- never recreates an expired or deleted batch). Every batch_ack.lua call
-- runs it, so its fields are spelled out: table constructors, not loops
-- that grow tables (a third of a one-job call's script time went here).
local function load_meta()
  local v = redis.call('HMGET', META, 'total', 'pending', 'failing', 'succeeded', 'dead', 'discarded', 'cancelled', 'removed',
    'committed_at', 'complete_at', 'success_at', 'death_at', 'cancelled_at', 'expired', 'deadline', 'settled_at', 'pages')
  if not v[1] then return nil end
  return {
    total = tonumber(v[1]) or 0, pending = tonumber(v[2]) or 0, failing = tonumber(v[3]) or 0,
    succeeded = tonumber(v[4]) or 0, dead = tonumber(v[5]) or 0, discarded = tonumber(v[6]) or 0,
    cancelled = tonumber(v[7]) or 0, removed = tonumber(v[8]) or 0,
    committed_at = v[9], complete_at = v[10], success_at = v[11], death_at = v[12],
    cancelled_at = v[13], expired = v[14], deadline = v[15], settled_at = v[16], pages = v[17],
  }
end

-- finished: success fired, cancelled, or expired (never committed in time).
-- An uncommitted batch past its deadline is marked expired here.
local function finished(m, now)
  if m.success_at or m.cancelled_at or m.expired then return true end
  if not m.committed_at and m.deadline and tonumber(m.deadline) > 0 and tonumber(now) > tonumber(m.deadline) then
    redis.call('HSET', META, 'expired', now)
    m.expired = now
    return true
  end
  return false
end

-- fire writes the callbacks whose condition now holds to the outbox, once
-- each, in the order complete, settled, success (backend.BatchGate.Due is
-- the reference for the rule), and returns their names. death says a job
-- died in this call (or a child's death arrived). The counters are tested
-- before a child set is counted, so a batch with work left costs no SCARD.
local function fire(m, now, death)
  local fired = {}
  if m.committed_at and not m.complete_at and m.pending == 0 and redis.call('SCARD', KIDSC) == 0 then
    m.complete_at = now
    fired[#fired + 1] = 'complete'
  end
  local success = m.committed_at and m.complete_at and not m.success_at and not m.cancelled_at
      and m.succeeded == m.total and redis.call('SCARD', KIDSS) == 0
  if m.committed_at and m.complete_at and not m.settled_at and m.pending == 0 and m.failing == 0
      and (success or redis.call('SCARD', KIDST) == 0) then
    m.settled_at = now
    fired[#fired + 1] = 'settled'
  end
  if success then
    m.success_at = now
    fired[#fired + 1] = 'success'
  end
  if death and not m.death_at then
    m.death_at = now
    fired[#fired + 1] = 'death'
  end
  if #fired > 0 then
    local set, cbf = {}, {}
    for _, ev in ipairs(fired) do
      set[#set + 1] = ev .. '_at'
      set[#set + 1] = now
      cbf[#cbf + 1] = 'cb:' .. ev
    end
    redis.call('HSET', META, unpack(set))
    local cbs = redis.call('HMGET', META, unpack(cbf))
    local box = {}
    for i, ev in ipairs(fired) do box[#box + 1] = ev .. '\n' .. (cbs[i] or '') end
    redis.call('RPUSH', OUTBOX, unpack(box))
  end
  return fired
end

-- keep sets the batch's TTL (docs/data-model.md, Expiry): a short linger after success, the
-- dead set's age cap while it holds dead jobs, else the horizon, counted
-- from now. It rewrites every key's TTL when the meta's TTL is off by more
-- than an hour, else only the keys this call may have created.
-- ttls: {horizon, linger, deadage} in ms.
local function keep(m, ttls, touched)
  local ttl = ttls[1]
  if m.success_at then ttl = ttls[2] elseif m.dead > 0 then ttl = ttls[3] end
  local cur = redis.call('PTTL', META)
  if cur < 0 or math.abs(cur - ttl) > 3600000 then
    for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ttl) end
    local psize = tonumber(m.pages)
    if psize then
      -- Page keys are not in KEYS: every page the batch may have.
      for p = 0, math.floor((m.total - 1) / psize) do redis.call('PEXPIRE', BITS .. ':' .. p, ttl) end
    end
    return
  end
  for _, k in ipairs(touched) do
    if redis.call('PTTL', k) == -1 then redis.call('PEXPIRE', k, cur) end
  end
end

-- index_groups fills ERRC (fingerprint -> count + error) from the groups
-- of ERRS, for a batch whose groups were written without it (data model
-- 1, or a worker of that model during a rolling deploy), and returns how
-- many groups ERRC holds. The caller sees that ERRC is empty first.
local function index_groups()
  local h = redis.call('HGETALL', ERRS)
  local f = {}
  for i = 1, #h, 2 do f[h[i]] = h[i + 1] end
  local z = {}
  for k, v in pairs(f) do
    if string.sub(k, 1, 2) == 'c:' then
      local fp = string.sub(k, 3)
      z[#z + 1] = tonumber(v) + (tonumber(f['e:' .. fp]) or 0)
      z[#z + 1] = fp
    end
  end
  if #z > 0 then redis.call('ZADD', ERRC, unpack(z)) end
  return #z / 2
end

local function reply(status, fired)
  local out = {status}
  for _, ev in ipairs(fired or {}) do out[#out + 1] = ev end
  return out
end
