#!lua flags=allow-oom
-- Apply job events to a batch (backend.Transition in Lua; batchstate.go is
-- the reference). One BITFIELD SET u2 per job returns the old state; an
-- invalid move is put back; counters move once per call, never below zero.
-- ARGV: now, horizon, linger, deadage (ms), max error groups, n (jobs),
--   the highest job index, codes (one character per job: '0' + 2*event +
--   manual; events 1 failed, 2 succeeded, 3 died, 4 discarded, 5 cancelled,
--   6 removed, 7 snoozed), then the BITFIELD arguments of every job in order (SET u2
--   #<index> <target state>: built by the caller so that the common case
--   passes them straight through), then for each job with event 1 or 3, in
--   order, fingerprint, kind, class, message, job id.
-- Returns {1} when the batch is gone, else {0, effects, fired...} where
-- effects holds one character per job: '0' + (1 if a retry entry, or for
-- a snooze the scheduled entry, may be written) + (2 if a dead entry may
-- be written).
local now = ARGV[1]
local ttls = {tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])}
local maxgroups = tonumber(ARGV[5])
local m = load_meta()
if not m then return reply(1) end

local SC = {[0] = 'pending', [1] = 'failing', [2] = 'succeeded'}
local END = {[4] = 'discarded', [5] = 'cancelled', [6] = 'removed'}

-- transition returns new state, dec, inc, write retry, write dead, first death.
local function transition(old, ev, manual)
  local from = SC[old]
  if ev == 1 then
    if old == 0 then return 1, from, 'failing', true, false, false end
    if old == 1 then return 1, nil, nil, true, false, false end
    if old == 3 and manual then return 1, 'dead', 'failing', true, false, false end
  elseif ev == 2 then
    if old == 0 or old == 1 then return 2, from, 'succeeded', false, false, false end
    if old == 3 and manual then return 2, 'dead', 'succeeded', false, false, false end
  elseif ev == 3 then
    if old == 0 or old == 1 then return 3, from, 'dead', false, true, true end
    if old == 3 then return 3, nil, nil, false, manual, false end
  elseif ev == 7 then
    -- A snooze keeps the state; a stale duplicate schedules nothing.
    return old, nil, nil, old == 0 or old == 1 or (old == 3 and manual), false, false
  elseif old == 0 or old == 1 then
    return 3, from, END[ev], false, false, false
  end
  return old, nil, nil, false, false, false
end

local n, maxidx, codes = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]
local BF = 9             -- ARGV index of the first job's BITFIELD arguments
local ERR = BF + 4 * n   -- ARGV index of the first failure's details

-- Set every valid index to its event's target state in one BITFIELD call.
-- An index beyond the batch's total (a job this batch does not know) is
-- left out; usually there is none and the arguments go through as given.
local slot = nil -- slot[k]: job k's position in the BITFIELD reply, when filtered
local olds = {}
if n > 0 then
  if maxidx < m.total then
    olds = redis.call('BITFIELD', BITS, unpack(ARGV, BF, ERR - 1))
  else
    slot = {}
    local bf = {}
    for k = 1, n do
      local a = BF + 4 * (k - 1)
      local idx = tonumber(string.sub(ARGV[a + 2], 2))
      if idx >= 0 and idx < m.total then
        bf[#bf + 1] = 'SET'; bf[#bf + 1] = 'u2'; bf[#bf + 1] = ARGV[a + 2]; bf[#bf + 1] = ARGV[a + 3]
        slot[k] = #bf / 4
      end
    end
    if #bf > 0 then olds = redis.call('BITFIELD', BITS, unpack(bf)) end
  end
end

-- cur and lastset are keyed by the BITFIELD offset argument ("#<index>"):
-- a job may appear twice in one call.
local cur, lastset = {}, {}
local delta = {}
local effects = {}
local death = false
local groups, gorder = {}, {}
local e = ERR
for k = 1, n do
  local code = string.byte(codes, k) - 48
  local ev = math.floor(code / 2)
  local a = BF + 4 * (k - 1)
  local fp, kind, class, msg, id
  if ev == 1 or ev == 3 then
    fp, kind, class, msg, id = ARGV[e], ARGV[e + 1], ARGV[e + 2], ARGV[e + 3], ARGV[e + 4]
    e = e + 5
  end
  local pos = k
  if slot then pos = slot[k] end
  if not pos then
    -- Not a job this batch knows (index beyond its total): write it like a
    -- job outside any batch.
    effects[k] = '3'
  else
    local key = ARGV[a + 2]
    local old = cur[key]
    if old == nil then old = olds[pos] end
    local new, dec, inc, wr, wd, fd = transition(old, ev, code % 2 == 1)
    cur[key] = new
    lastset[key] = tonumber(ARGV[a + 3]) -- the state the caller's BITFIELD set
    if dec then delta[dec] = (delta[dec] or 0) - 1 end
    if inc then delta[inc] = (delta[inc] or 0) + 1 end
    if fd then death = true end
    local mask = 0
    if wr then mask = mask + 1 end
    if wd then mask = mask + 2 end
    effects[k] = string.char(48 + mask)
    if (ev == 1 and wr) or (ev == 3 and (fd or wd)) then
      local g = groups[fp]
      if not g then
        g = {n = 0}
        groups[fp] = g
        gorder[#gorder + 1] = fp
      end
      g.n = g.n + 1
      g.kind, g.class, g.msg, g.id = kind, class, msg, id
    end
  end
end

-- Put back the moves the table refused.
local back = {}
for key, st in pairs(cur) do
  if st ~= lastset[key] then
    back[#back + 1] = 'SET'; back[#back + 1] = 'u2'; back[#back + 1] = key; back[#back + 1] = st
  end
end
if #back > 0 then redis.call('BITFIELD', BITS, unpack(back)) end

-- Counters, summed once per call; never below zero.
local hs = {}
for name, d in pairs(delta) do
  if d ~= 0 then
    local v = m[name] + d
    if v < 0 then v = 0 end
    m[name] = v
    hs[#hs + 1] = name
    hs[#hs + 1] = v
  end
end
if #hs > 0 then redis.call('HSET', META, unpack(hs)) end

-- Error groups: c:<fp> count, l:<fp> last seen, i:<fp> first seen, job,
-- kind, class, message; at most maxgroups, then "other".
local touched = {BITS}
if #gorder > 0 then
  touched[#touched + 1] = ERRS
  local ngroups = nil
  for _, fp in ipairs(gorder) do
    local g = groups[fp]
    if redis.call('HEXISTS', ERRS, 'c:' .. fp) == 1 then
      redis.call('HINCRBY', ERRS, 'c:' .. fp, g.n)
      redis.call('HSET', ERRS, 'l:' .. fp, now)
    else
      if ngroups == nil then
        ngroups = math.floor(redis.call('HLEN', ERRS) / 3)
      end
      if ngroups >= maxgroups then
        redis.call('HINCRBY', ERRS, 'other', g.n)
      else
        redis.call('HSET', ERRS, 'c:' .. fp, g.n, 'l:' .. fp, now,
          'i:' .. fp, now .. '\n' .. g.id .. '\n' .. g.kind .. '\n' .. g.class .. '\n' .. g.msg)
        ngroups = ngroups + 1
      end
    end
  end
end

local fired = fire(m, now, death)
if #fired > 0 then touched[#touched + 1] = OUTBOX end
keep(m, ttls, touched)
local out = {0, table.concat(effects)}
for _, ev in ipairs(fired) do out[#out + 1] = ev end
return out
