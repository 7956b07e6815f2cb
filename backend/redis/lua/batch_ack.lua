#!lua flags=allow-oom
-- Apply job events to a batch (backend.Transition in Lua; batchstate.go is
-- the reference) and count its failures in its error groups. The jobs'
-- 2-bit states are read with one GETRANGE per unit of storage (a page, or
-- the unpaged string of an older batch), moved here, and written back
-- with one SETRANGE; counters move once per call, never below zero. A
-- paged batch keeps its states in pages of m.pages jobs and drops a page
-- once every job in it has settled (see Units below).
-- ARGV: now, horizon, linger, deadage (ms), max error groups, n (jobs),
--   codes (one character per job: '0' + 2*event + manual; events 1
--   failed, 2 succeeded, 3 died, 4 discarded, 5 cancelled, 6 removed,
--   7 snoozed), the page size G the caller paged by
--   (backend.BatchPageSize), its page runs ("<page>:<jobs>:<lowest
--   slot>:<highest slot>,...": the jobs come sorted by page), the jobs' slots in their pages (two bytes each,
--   big-endian, in job order; 65535 for a job outside the batch), then
--   for each job with event 1 or 3, in order, fingerprint, kind, class,
--   message, job id.
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

local n, codes = tonumber(ARGV[6]), ARGV[7]
local gsize, runs = tonumber(ARGV[8]), ARGV[9]
local ERR = 11 -- ARGV index of the first failure's details

local psize = tonumber(m.pages)
-- A job's state is 2 bits at bit 2*pos of its unit's string, high bit
-- first (BITFIELD's u2 layout): in byte floor(pos/4), at place POW[pos%4].
local POW = {[0] = 64, 16, 4, 1}
local units = {} -- units of state storage (below), in the order first met
local settle = {} -- unit -> jobs settled in this call (Effect.PageSettles)
local delta = {}
local effects = {}
local death = false
local groups, gorder = {}, {}

-- The fast path by ranges, the common case on a batch paged by the
-- caller's page size: every event a success (not manual) on a job of the
-- batch. Each page run gives its lowest and highest slot, so the bytes
-- its jobs fall in are read before the jobs are looked at, and each job
-- is decided in one pass: P and F move to S (counted, settled), S stays
-- (stale), and a dropped page's jobs are all stale. It gives up (false)
-- on anything else, an old X (a success refused, or a manual retry's) or
-- a job outside the batch, and the general path below starts again from
-- the states as stored: nothing is written before every job is decided.
-- The per-job tables the general path builds first (ju, jpos) were about
-- half of a large call's script time.
local function fast_by_range()
  local slots, total, byte = ARGV[10], m.total, string.byte
  local moved0, moved1, k, lastp = 0, 0, 0, -1
  for p, c, lo, hi in string.gmatch(runs, '(%d+):(%d+):(%d+):(%d+)') do
    p, c, lo, hi = tonumber(p), tonumber(c), tonumber(lo), tonumber(hi)
    -- A slot past the page (65535: outside the batch) or an index past
    -- the batch's total is not the common case; pages come in order.
    if p <= lastp or hi >= psize or p * psize + hi >= total then return false end
    lastp = p
    local key = BITS .. ':' .. p
    local b0 = (lo - lo % 4) / 4
    local nbytes = (hi - hi % 4) / 4 - b0 + 1
    local raw = redis.call('GETRANGE', key, b0, b0 + nbytes - 1)
    local fresh = raw == ''
    if fresh and redis.call('GETBIT', PDONE, p) == 1 then
      k = k + c -- a dropped page: every success is stale
    else
      local bytes = {byte(raw, 1, -1)}
      for i = #bytes + 1, nbytes do bytes[i] = 0 end
      local cn = 0
      for _ = 1, c do
        k = k + 1
        local s1, s2 = byte(slots, 2 * k - 1, 2 * k)
        local slot = s1 * 256 + s2
        local q = slot % 4
        local i, pw = (slot - q) / 4 - b0 + 1, POW[q]
        local v = bytes[i]
        local o = (v - v % pw) / pw % 4
        if o < 2 then
          if o == 0 then moved0 = moved0 + 1 else moved1 = moved1 + 1 end
          cn = cn + 1
          bytes[i] = v + (2 - o) * pw
        elseif o == 3 then
          return false
        end
      end
      if cn > 0 then
        units[#units + 1] = {key = key, page = p, b0 = b0, bytes = bytes, fresh = fresh, changed = true}
        settle[#units] = cn
      end
    end
  end
  if k ~= n then return false end -- the runs did not cover every job
  delta.pending, delta.failing = -moved0, -moved1
  delta.succeeded = moved0 + moved1
  effects = {string.rep('0', n)}
  return true
end

local decided = false
if n > 0 and psize == gsize and not string.find(codes, '[^4]') then
  decided = fast_by_range()
  if not decided then units, settle, delta, effects = {}, {}, {}, {} end
end

-- The general path, for every call the fast path by ranges did not decide
-- (an old X, a job outside the batch, a batch unpaged or paged by another
-- size): each job through transition, as backend.Transition.
if not decided then

  -- Units of state storage: a page of a paged batch (meta "pages": its page
  -- size, data model 3), or the one unpaged bit string of a batch written by
  -- data model 2. backend.BatchPageOf, DroppedPageState and
  -- Effect.PageSettles in batchstate.go are the reference; this mirrors
  -- them. A unit holds its key, its page (nil: unpaged), and the bytes of
  -- its string from b0 on that hold its jobs' states (bytes: read once,
  -- changed here, written back once). It spans at most WINDOW states, so an
  -- unpaged string is read and written window by window; the windows of one
  -- page (a page of more than WINDOW jobs, which no version has made) would
  -- each count their own settled jobs, and since every read comes before
  -- any write, each sees the page as the call found it. A batch paged by
  -- another size than the caller's (a later BatchPageSize) is found by the
  -- job's absolute index. Per job k: ju[k] its unit (nil: not a job of this
  -- batch, an index beyond its total) and jpos[k] its position in the unit.
  local WINDOW = 16384
  local ju, jpos = {}, {}
  do
    local slots, total, byte = ARGV[10], m.total, string.byte -- locals: read per job
    local byunit, lastkey, lastui, lo, hi = {}, nil, nil, 0, 0
    local k = 0
    for p, c in string.gmatch(runs, '(%d+):(%d+):%d+:%d+') do
      p = tonumber(p)
      for _ = 1, tonumber(c) do
        k = k + 1
        local s1, s2 = byte(slots, 2 * k - 1, 2 * k)
        local slot = s1 * 256 + s2
        local idx = p * gsize + slot
        if slot ~= 65535 and idx < total then
          local upage, pos = nil, idx
          if psize == gsize then
            upage, pos = p, slot
          elseif psize then
            pos = idx % psize
            upage = (idx - pos) / psize
          end
          -- WINDOW states are 4 KiB, whose bytes go through one unpack
          -- (Lua holds 8,000 values); a page (4,064 jobs) is one window.
          local w = (pos - pos % WINDOW) / WINDOW
          local ukey = upage and (upage * 1024 + w) or (-1 - w)
          -- The range of the unit of the job before is kept in locals
          -- (lo, hi) while the jobs stay in it (they mostly do).
          if ukey ~= lastkey then
            if lastui then units[lastui].lo, units[lastui].hi = lo, hi end
            local ui = byunit[ukey]
            if not ui then
              ui = #units + 1
              byunit[ukey] = ui
              units[ui] = {key = upage and (BITS .. ':' .. upage) or BITS, page = upage, lo = pos, hi = pos}
            end
            lastkey, lastui, lo, hi = ukey, ui, units[ui].lo, units[ui].hi
          end
          if pos < lo then lo = pos elseif pos > hi then hi = pos end
          ju[k], jpos[k] = lastui, pos
        end
      end
    end
    if lastui then units[lastui].lo, units[lastui].hi = lo, hi end
  end
  for _, u in ipairs(units) do
    u.b0 = (u.lo - u.lo % 4) / 4
    local nbytes = (u.hi - u.hi % 4) / 4 - u.b0 + 1
    local raw = redis.call('GETRANGE', u.key, u.b0, u.b0 + nbytes - 1)
    -- A page key is written whole (its states and count), so an empty read
    -- means no key: a page no job has written yet (all pending), or a
    -- dropped one (every job settled), as its done bit says. The unpaged
    -- string grows as written: what lies beyond it is pending.
    u.fresh = raw == ''
    if u.fresh and u.page and redis.call('GETBIT', PDONE, u.page) == 1 then u.dropped = true end
    -- The bytes as read, padded to the unit's range: with zeros (pending),
    -- or for a dropped page with 170 (binary 10101010: four S,
    -- DroppedPageState).
    local bytes = {string.byte(raw, 1, -1)}
    local fill = u.dropped and 170 or 0
    for i = #bytes + 1, nbytes do bytes[i] = fill end
    u.bytes = bytes
  end

  local SETTLES = {succeeded = true, discarded = true, cancelled = true, removed = true}
  local e = ERR
  for k = 1, n do
    local code = string.byte(codes, k) - 48
    local ev = math.floor(code / 2)
    local fp, kind, class, msg, id
    if ev == 1 or ev == 3 then
      fp, kind, class, msg, id = ARGV[e], ARGV[e + 1], ARGV[e + 2], ARGV[e + 3], ARGV[e + 4]
      e = e + 5
    end
    local ui = ju[k]
    if not ui then
      -- Not a job this batch knows (index beyond its total): write it like a
      -- job outside any batch.
      effects[k] = '3'
    else
      -- The job's state, read and written as fast_by_range does, inline:
      -- a helper called per job cost a quarter more script time
      -- (BenchmarkBatchAck/Chunk500, Redis CPU 0.51 → 0.64 µs/job).
      local u = units[ui]
      local pos = jpos[k]
      local q = pos % 4
      local i, p = (pos - q) / 4 - u.b0 + 1, POW[q]
      local v = u.bytes[i]
      local old = (v - v % p) / p % 4
      local new, dec, inc, wr, wd, fd = transition(old, ev, code % 2 == 1)
      if new ~= old then
        u.bytes[i] = v + (new - old) * p
        u.changed = true
      end
      if u.page and SETTLES[inc] then settle[ui] = (settle[ui] or 0) + 1 end
      if dec then delta[dec] = (delta[dec] or 0) - 1 end
      if inc then delta[inc] = (delta[inc] or 0) + 1 end
      if fd then death = true end
      local mask = 0
      if wr then mask = mask + 1 end
      if wd then mask = mask + 2 end
      effects[k] = string.char(48 + mask)
      -- A failure counts in the error groups only when it moved the job's
      -- state (P->F, X->F of a manual retry, P/F->X dead), as the counters:
      -- a re-sent ack of the same attempt then counts nothing twice.
      if inc and (ev == 1 or ev == 3) then
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
end

-- Per unit that changed: write its states back in one SETRANGE and, for a
-- page, count its newly settled jobs. A new page is made whole by its
-- count's write, before its states (growing a string later would
-- over-allocate), so that a page key is always whole. A page whose every
-- job has settled is deleted instead and marked done (its counts are in
-- the counters). A dropped page is never written: its jobs' events are
-- all stale.
local touched = {}
for ui, u in ipairs(units) do
  if u.changed and not u.dropped then
    local s, gone = settle[ui] or 0, false
    if u.page and (s ~= 0 or u.fresh) then
      local count = redis.call('BITFIELD', u.key, 'INCRBY', 'u16', 2 * psize, s)[1]
      if count >= psize then
        redis.call('DEL', u.key)
        redis.call('SETBIT', PDONE, u.page, 1)
        touched[#touched + 1] = PDONE
        gone = true
      end
    end
    if not gone then
      redis.call('SETRANGE', u.key, u.b0, string.char(unpack(u.bytes)))
      if u.fresh or not u.page then touched[#touched + 1] = u.key end
    end
  end
end

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

-- Error groups (docs/batch-states.md, Error groups): Space-Saving over
-- the maxgroups most frequent fingerprints. ERRS holds per group c:<fp>
-- (failures counted while kept), e:<fp> (how many it may have had before:
-- the count + error of the group it replaced), l:<fp> and i:<fp>, and
-- "other" (the c: of every evicted group and the failures never kept);
-- ERRC holds fp -> c + e, to find the smallest group in O(log K). The
-- groups' c: plus other is the number of failures counted.
if #gorder > 0 then
  touched[#touched + 1] = ERRS
  local seen = {}   -- HSET arguments: last seen of every group counted
  local fresh = {}  -- fingerprints ERRC does not hold
  if #gorder == 1 then
    -- The common case, one fingerprint: one command finds and counts it.
    local fp = gorder[1]
    if redis.call('ZADD', ERRC, 'XX', 'INCR', groups[fp].n, fp) then
      redis.call('HINCRBY', ERRS, 'c:' .. fp, groups[fp].n)
      seen[1] = 'l:' .. fp; seen[2] = now
    else
      fresh[1] = fp
    end
  else
    local scores = redis.call('ZMSCORE', ERRC, unpack(gorder))
    for i, fp in ipairs(gorder) do
      if scores[i] then
        local n = groups[fp].n
        redis.call('ZINCRBY', ERRC, n, fp)
        redis.call('HINCRBY', ERRS, 'c:' .. fp, n)
        seen[#seen + 1] = 'l:' .. fp; seen[#seen + 1] = now
      else
        fresh[#fresh + 1] = fp
      end
    end
  end
  if #fresh > 0 then
    local ngroups = redis.call('ZCARD', ERRC)
    if ngroups == 0 then
      ngroups = index_groups()
      touched[#touched + 1] = ERRC -- may be created here
    end
    -- The smallest groups the new fingerprints may replace (cand) come off
    -- ERRC now; those that stay go back with the call's ZADD.
    local zr = {}
    local k = math.min(ngroups, ngroups + #fresh - maxgroups)
    if k > 0 then zr = redis.call('ZPOPMIN', ERRC, k) end
    -- One HMGET reads the fresh fingerprints' counts (a group ERRS has and
    -- ERRC lacks was written by a worker of data model 1, which keeps no
    -- error bound, during a rolling deploy: it is adopted, not replaced),
    -- the candidates' counts and errors, and other.
    local f = {}
    for i, fp in ipairs(fresh) do f[i] = 'c:' .. fp end
    for j = 1, #zr, 2 do f[#f + 1] = 'c:' .. zr[j]; f[#f + 1] = 'e:' .. zr[j] end
    f[#f + 1] = 'other'
    local hv = redis.call('HMGET', ERRS, unpack(f))
    local other0 = tonumber(hv[#hv]) or 0
    local other = other0
    local z = {}   -- ZADD arguments
    local new = {}
    for i, fp in ipairs(fresh) do
      local c = tonumber(hv[i])
      if c then
        local n = groups[fp].n
        z[#z + 1] = c + n; z[#z + 1] = fp
        seen[#seen + 1] = 'c:' .. fp; seen[#seen + 1] = c + n
        seen[#seen + 1] = 'l:' .. fp; seen[#seen + 1] = now
        ngroups = ngroups + 1
      else
        new[#new + 1] = fp
      end
    end
    local cand = {}
    for j = 1, #zr / 2 do
      local c, e = tonumber(hv[#fresh + 2 * j - 1]) or 0, tonumber(hv[#fresh + 2 * j]) or 0
      -- ERRC may lag behind a worker of data model 1: the larger wins.
      cand[j] = {fp = zr[2 * j - 1], est = math.max(tonumber(zr[2 * j]), c + e), c = c}
    end
    -- Space-Saving on the call's failures, taken fingerprint by fingerprint
    -- in the order they came (a valid order of the stream, so its bounds
    -- hold): each new fingerprint takes a free slot, or the place of the
    -- smallest group, which is either a stored one (cand, smallest first)
    -- or one admitted earlier in this call (heap).
    -- heap: a binary min-heap of the groups admitted in this call, by est.
    local heap = {}
    local function push(x)
      heap[#heap + 1] = x
      local i = #heap
      while i > 1 do
        local p = math.floor(i / 2)
        if heap[p].est <= heap[i].est then break end
        heap[p], heap[i] = heap[i], heap[p]
        i = p
      end
    end
    local function pop()
      local top = heap[1]
      heap[1] = heap[#heap]
      heap[#heap] = nil
      local i = 1
      while true do
        local l, r, m = 2 * i, 2 * i + 1, i
        if heap[l] and heap[l].est < heap[m].est then m = l end
        if heap[r] and heap[r].est < heap[m].est then m = r end
        if m == i then break end
        heap[m], heap[i] = heap[i], heap[m]
        i = m
      end
      return top
    end
    local free, ci = maxgroups - ngroups, 1
    local del = {}
    local function evict_stored()
      local v = cand[ci]
      ci = ci + 1
      other = other + v.c
      del[#del + 1] = 'c:' .. v.fp; del[#del + 1] = 'e:' .. v.fp
      del[#del + 1] = 'l:' .. v.fp; del[#del + 1] = 'i:' .. v.fp
      return v.est
    end
    while free < 0 and ci <= #cand do -- more groups than maxgroups (adopted)
      evict_stored()
      free = free + 1
    end
    for _, fp in ipairs(new) do
      local n, e = groups[fp].n, 0
      if free > 0 then
        free = free - 1
      elseif ci <= #cand and (#heap == 0 or cand[ci].est < heap[1].est) then
        e = evict_stored()
      elseif #heap > 0 then
        local v = pop()
        other = other + v.n
        e = v.est
      else
        e = -1 -- no group to replace (groups adopted in this call took the places)
      end
      if e >= 0 then push({fp = fp, n = n, e = e, est = e + n}) else other = other + n end
    end
    for j = ci, #cand do z[#z + 1] = cand[j].est; z[#z + 1] = cand[j].fp end
    for _, x in ipairs(heap) do
      local g = groups[x.fp]
      z[#z + 1] = x.est; z[#z + 1] = x.fp
      seen[#seen + 1] = 'c:' .. x.fp; seen[#seen + 1] = x.n
      seen[#seen + 1] = 'l:' .. x.fp; seen[#seen + 1] = now
      seen[#seen + 1] = 'i:' .. x.fp
      seen[#seen + 1] = now .. '\n' .. g.id .. '\n' .. g.kind .. '\n' .. g.class .. '\n' .. g.msg
      if x.e > 0 then seen[#seen + 1] = 'e:' .. x.fp; seen[#seen + 1] = x.e end
    end
    if other ~= other0 then seen[#seen + 1] = 'other'; seen[#seen + 1] = other end
    if #del > 0 then redis.call('HDEL', ERRS, unpack(del)) end
    if #z > 0 then redis.call('ZADD', ERRC, unpack(z)) end
  end
  if #seen > 0 then redis.call('HSET', ERRS, unpack(seen)) end
end

local fired = fire(m, now, death)
if #fired > 0 then touched[#touched + 1] = OUTBOX end
keep(m, ttls, touched)
local out = {0, table.concat(effects)}
for _, ev in ipairs(fired) do out[#out + 1] = ev end
return out
