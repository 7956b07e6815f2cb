#!lua flags=allow-oom
-- Repair a batch's bits and counters (joblot batch verify --repair) with the
-- state backend.PlanBatchRepair computed from what VerifyBatch read, and
-- fire what that makes due. Refuses if the batch changed since the read:
-- its bit string's SHA1 or a counter differs.
-- ARGV: now, horizon, linger, deadage, bits sha1, the 8 counters read
-- (total, pending, failing, succeeded, dead, discarded, cancelled, removed),
-- death ("1": the repair recorded a death), the 7 new counters (pending ..
-- removed), then index, state pairs to set.
-- Returns {status, fired...}: 0 ok, -1 gone, -3 changed.
local now = ARGV[1]
local m = load_meta()
if not m then return {-1} end
local cur = redis.call('GET', BITS)
if not cur then cur = '' end
if redis.sha1hex(cur) ~= ARGV[5] then return {-3} end
for i, k in ipairs(COUNTERS) do
  if m[k] ~= tonumber(ARGV[5 + i]) then return {-3} end
end
local touched = {}
local bf = {}
for a = 22, #ARGV, 2 do
  bf[#bf + 1] = 'SET'; bf[#bf + 1] = 'u2'; bf[#bf + 1] = '#' .. ARGV[a]; bf[#bf + 1] = ARGV[a + 1]
  if #bf >= 4000 then
    redis.call('BITFIELD', BITS, unpack(bf))
    bf = {}
  end
end
if #bf > 0 then redis.call('BITFIELD', BITS, unpack(bf)) end
if #ARGV >= 22 then touched[#touched + 1] = BITS end
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
