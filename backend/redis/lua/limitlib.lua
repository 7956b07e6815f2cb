-- Global limits (backend/limits.go decides the rules; these functions
-- mirror them). A queue's keys share the prefix "{jl:q:<queue>}:" (its
-- jobs key without "jobs"); a limit group g names :lrun:<g> (ids of the
-- jobs holding a concurrency slot), :lwait:<g> (payloads waiting over the
-- concurrency limit) and :lrate:<g> (the rate window). :lheld maps each
-- slot-holding job id to its group; :lgroups lists the groups in use.
-- Needs wipfield.lua and bell.lua.

-- limit_varint reads the varint of p at i: its value (only exact up to
-- 2^53, enough for lengths and field keys) and the index after it.
local function limit_varint(p, i)
  local v, mul = 0, 1
  while true do
    local c = string.byte(p, i)
    if not c then return nil, i end
    v = v + (c % 128) * mul
    i = i + 1
    if c < 128 then return v, i end
    mul = mul * 128
  end
end

-- limit_fields returns the kind (field 2) and the limit key (field 31) of
-- a payload (backend/jobcodec.go); '' for a field it does not hold.
local function limit_fields(p)
  local kind, key = '', ''
  if string.byte(p, 1) ~= 1 then return kind, key end
  local i, n = 2, #p
  while i <= n do
    local k
    k, i = limit_varint(p, i)
    if not k then break end
    if k % 2 == 0 then
      local v
      v, i = limit_varint(p, i)
      if not v then break end
    else
      local l
      l, i = limit_varint(p, i)
      if not l then break end
      local field = math.floor(k / 2)
      if field == 2 then
        kind = string.sub(p, i, i + l - 1)
      elseif field == 31 then
        key = string.sub(p, i, i + l - 1)
      end
      i = i + l
    end
  end
  return kind, key
end

-- limit_admit judges the payloads a fetch popped, in order, at now (ms),
-- against the queue's limit: it returns those admitted and moves each
-- other one aside, once: over its group's concurrency limit to the tail of
-- :lwait:<g>; over its rate to the scheduled set, at the time its turn in
-- the window comes (the payload unchanged: no attempt used). An admitted
-- job takes a slot (an id entry) and a place in the rate window. The
-- second result says whether the limit has slots (a concurrency limit).
local function limit_admit(prefix, got, now)
  local cfg = redis.call('HMGET', prefix .. 'limit', 'conc', 'rate', 'per', 'by')
  local conc, rate, per, by = tonumber(cfg[1]) or 0, tonumber(cfg[2]) or 0, tonumber(cfg[3]) or 0, cfg[4] or 'queue'
  local out, run, fired, late = {}, {}, {}, {}
  for _, p in ipairs(got) do
    local g = ''
    if by == 'kind' or by == 'key' then
      local kind, key = limit_fields(p)
      if by == 'kind' then g = kind else g = key end
    end
    local admit = true
    if conc > 0 then
      if run[g] == nil then run[g] = redis.call('SCARD', prefix .. 'lrun:' .. g) end
      if run[g] >= conc then
        redis.call('RPUSH', prefix .. 'lwait:' .. g, p)
        redis.call('SADD', prefix .. 'lgroups', g)
        admit = false
      end
    end
    if admit and rate > 0 then
      local rk = prefix .. 'lrate:' .. g
      if fired[g] == nil then
        redis.call('ZREMRANGEBYSCORE', rk, '-inf', now - per)
        fired[g], late[g] = redis.call('ZCARD', rk), 0
      end
      if fired[g] >= rate then
        -- The k-th job over the rate in this call runs when the (k mod
        -- rate)-th oldest fetch of the window is a window old, plus a
        -- window per round of rate jobs before it.
        local k = late[g]
        local s = redis.call('ZRANGE', rk, k % rate, k % rate, 'WITHSCORES')
        local due = now + per
        if s[2] then due = tonumber(s[2]) + per * (math.floor(k / rate) + 1) end
        redis.call('ZADD', prefix .. 'sched', due, p)
        late[g] = k + 1
        admit = false
      else
        fired[g] = fired[g] + 1
        redis.call('ZADD', rk, now, wipfield(p) .. ':' .. now)
        redis.call('PEXPIRE', rk, per)
      end
    end
    if admit then
      if conc > 0 then
        local id = wipfield(p)
        redis.call('SADD', prefix .. 'lrun:' .. g, id)
        redis.call('HSET', prefix .. 'lheld', id, g)
        redis.call('SADD', prefix .. 'lgroups', g)
        run[g] = run[g] + 1
      end
      out[#out + 1] = p
    end
  end
  -- A group with a free slot and jobs waiting lost its chain of releases
  -- (a job moved back was cleared, or waits in the scheduled set): its
  -- oldest waiting jobs go back to the head of the queue, in order, for the
  -- next fetch.
  for g, r in pairs(run) do
    if r < conc then
      local w = redis.call('LPOP', prefix .. 'lwait:' .. g, conc - r)
      if w then
        local rev = {}
        for i = #w, 1, -1 do rev[#rev + 1] = w[i] end
        redis.call('LPUSH', prefix .. 'jobs', unpack(rev))
      end
    end
  end
  return out, conc > 0
end

-- limit_release frees the concurrency slot job id holds, if any, and moves
-- one job waiting in its group to the head of the queue (jobs). Returns 1
-- when it moved one.
local function limit_release(prefix, id, jobs)
  local g = redis.call('HGET', prefix .. 'lheld', id)
  if not g then return 0 end
  redis.call('HDEL', prefix .. 'lheld', id)
  local run, wait = prefix .. 'lrun:' .. g, prefix .. 'lwait:' .. g
  redis.call('SREM', run, id)
  local moved = 0
  if redis.call('LMOVE', wait, jobs, 'LEFT', 'LEFT') then moved = 1 end
  if redis.call('EXISTS', run, wait) == 0 then redis.call('SREM', prefix .. 'lgroups', g) end
  return moved
end
