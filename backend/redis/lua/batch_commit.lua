#!lua flags=allow-oom
-- Commit a batch's population; fires complete/success if already done (an
-- empty batch fires at once).
-- ARGV: now, horizon, linger, deadage
-- Returns {status, fired...}: 0 ok, -1 gone, -2 expired before commit.
local now = ARGV[1]
local m = load_meta()
if not m then return {-1} end
local touched = {}
if not m.committed_at then
  if finished(m, now) and m.expired then return {-2} end
  redis.call('HSET', META, 'committed_at', now)
  m.committed_at = now
  -- Size the 2-bit job states once, exactly, now that the population is
  -- known: BITFIELD grows its string greedily (Redis doubles it), which
  -- would keep up to twice the 2 bits per job for the batch's life. One
  -- O(total/4) copy per batch. A paged batch (m.pages) makes each page at
  -- its full size when it first writes it.
  if m.total > 0 and not m.pages then
    local cur = redis.call('GET', BITS)
    if not cur then cur = '' end
    local need = math.floor((m.total + 3) / 4)
    if #cur < need then cur = cur .. string.rep('\0', need - #cur) end
    redis.call('SET', BITS, cur)
    touched[#touched + 1] = BITS
  end
end
local fired = fire(m, now, false)
if #fired > 0 then touched[#touched + 1] = OUTBOX end
keep(m, {tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])}, touched)
return reply(0, fired)
