#!lua flags=allow-oom
-- Repair a batch's bits and counters (joblot batch verify --repair) with the
-- state backend.PlanBatchRepair computed from what VerifyBatch read, and
-- fire what that makes due. Refuses if the batch changed since the read:
-- its bit string's SHA1 or a counter differs.
-- ARGV: now, horizon, linger, deadage, bits sha1, the 8 counters read
-- (total, pending, failing, succeeded, dead, discarded, cancelled, removed),
-- death ("1": the repair recorded a death), the 7 new counters (pending ..
-- removed), then index, state, settles ("1": the change settles the job
-- for its page) triples. A paged batch's snapshot is every page's
-- "<length>:<bytes>" then the pdone string's, concatenated.
-- Returns {status, fired...}: 0 ok, -1 gone, -3 changed.
local now = ARGV[1]
local m = load_meta()
if not m then return {-1} end
local psize = tonumber(m.pages)
local snap
if psize then
  local parts = {}
  local np = 0
  if m.total > 0 then np = math.floor((m.total - 1) / psize) + 1 end
  for p = 0, np - 1 do
    local v = redis.call('GET', BITS .. ':' .. p) or ''
    parts[#parts + 1] = #v .. ':' .. v
  end
  local d = redis.call('GET', PDONE) or ''
  parts[#parts + 1] = #d .. ':' .. d
  snap = table.concat(parts)
else
  snap = redis.call('GET', BITS) or ''
end
if redis.sha1hex(snap) ~= ARGV[5] then return {-3} end
for i, k in ipairs(COUNTERS) do
  if m[k] ~= tonumber(ARGV[5 + i]) then return {-3} end
end
local touched = {}
for a = 22, #ARGV, 3 do
  local idx = tonumber(ARGV[a])
  if psize then
    -- A change never touches a dropped page: its jobs read as S, and the
    -- repair rule moves no S.
    local key = BITS .. ':' .. math.floor(idx / psize)
    local bf = {'SET', 'u2', '#' .. (idx % psize), ARGV[a + 1]}
    if ARGV[a + 2] == '1' then
      bf[5] = 'INCRBY'; bf[6] = 'u16'; bf[7] = 2 * psize; bf[8] = 1
    end
    redis.call('BITFIELD', key, unpack(bf))
    touched[#touched + 1] = key
  else
    redis.call('BITFIELD', BITS, 'SET', 'u2', '#' .. idx, ARGV[a + 1])
    touched[#touched + 1] = BITS
  end
end
local hs = {}
for i = 2, #COUNTERS do
  local v = tonumber(ARGV[13 + i])
  m[COUNTERS[i]] = v
  hs[#hs + 1] = COUNTERS[i]; hs[#hs + 1] = v
end
redis.call('HSET', META, unpack(hs))
local fired = fire(m, now, ARGV[14] == '1')
if #fired > 0 then touched[#touched + 1] = OUTBOX end
keep(m, {tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])}, touched)
return reply(0, fired)
