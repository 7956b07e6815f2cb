#!lua flags=allow-oom
-- Acknowledge in-flight jobs of one process on one queue. Only a job whose
-- in-flight entry this call deletes writes anything (a job recovered by
-- another process in the meantime writes nothing queue-side).
-- KEYS: wip, jobs, retry, dead, stats, day, bell, sched, uniq, minute
--   (the queue's hash of now's hour-of-day)[, errs]
-- ARGV: day TTL (s), dead cap (count), number of succeeded fields n,
--   the n succeeded fields, the number u of succeeded unique jobs, their
--   u triples field, lock key, job id (all n + u in one multi-field HDEL),
--   then per other job: op, field, score, payload with op
--     R retry at score; D dead at score (the payload is deadlib.lua's
--     dead_add's: entry and details); Q requeue at the head;
--     X discarded; C cancelled (CancelJob, or its batch is cancelled);
--     L let go, nothing written or counted (a stale duplicate's snooze);
--     N acknowledged, nothing written (a stale duplicate of a batch job);
--     Z snoozed: scheduled at score;
--     U (before the entry of a unique job leaving the store), with lock
--       key and job id for score and payload: the next entry releases
--       the lock if it deletes its in-flight entry (uniqlib.lua)
-- Counters (backend.Stats documents them): processed counts every finished
-- attempt (success, retry, death, discard, and a stale duplicate's failure),
-- failed the failures that wrote a retry or dead entry (both in :stats and in
-- the day's hash), discarded the discards, cancelled the cancels. A requeue,
-- a cancel or a snooze counts no attempt: none finished.
-- After the ops come 4 minute arguments: now's hour (unix hours), the
-- processed and failed fields of now's minute (p<m>, f<m>) and the minute
-- hash's TTL (s). The minute hash is one of a ring of 24 per queue (one per
-- hour of the day), each holding h (the hour it counts) and per minute p<m>
-- and f<m>: at most 1440 minutes per queue, however the clock moves.
-- Error groups: with an 11th key (the queue's error bucket of the hour, given
-- only when the call holds R or D ops), ARGV goes on after the ops with: now
-- (ms), the bucket's TTL (s), its cap of groups, a string of 2 bytes per op
-- (big-endian) numbering its fingerprint and sample pair (1..d; 0 for an op
-- that is not a failure), then the d pairs (the sample is JSON), and ends
-- with the number of these trailing arguments.
-- Returns the number of in-flight entries deleted.
local wip, jobs, retry, dead, stats, day = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local n = tonumber(ARGV[3])
local u = tonumber(ARGV[4 + n])
local first = 5 + n + 3 * u -- the first op
local processed, failed, discarded, deadbytes, deadadded = 0, 0, 0, 0, 0
local cancelled = 0
local deleted = 0
local relkeys, relids = {}, {} -- the unique locks of the jobs leaving
if u == 0 then
  -- The common case: the succeeded fields go straight to one HDEL.
  if n > 0 then deleted = redis.call('HDEL', wip, unpack(ARGV, 4, 3 + n)) end
else
  local del = {unpack(ARGV, 4, 3 + n)}
  local ufields = {}
  for j = 5 + n, first - 1, 3 do ufields[#ufields + 1] = ARGV[j] end
  -- A unique job releases its lock only if this call deletes its entry.
  local present = redis.call('HMGET', wip, unpack(ufields))
  for k = 1, u do
    del[#del + 1] = ufields[k]
    if present[k] then
      local j = 5 + n + 3 * (k - 1)
      relkeys[#relkeys + 1] = ARGV[j + 1]
      relids[#relids + 1] = ARGV[j + 2]
    end
  end
  deleted = redis.call('HDEL', wip, unpack(del))
end
processed = deleted
local last, fails = #ARGV, {}
if KEYS[11] then last = last - 1 - tonumber(ARGV[last]) end
last = last - 4 -- the minute arguments
local mins = last + 1
local requeue = {}
local zretry = {}
local release = nil -- the U entry before this one
local groups = {} -- the dead jobs' failure groups (deadlib.lua)
for i = first, last, 4 do
  local op = ARGV[i]
  if op == 'U' then
    release = i
  elseif redis.call('HDEL', wip, ARGV[i + 1]) == 1 then
    if release then
      relkeys[#relkeys + 1] = ARGV[release + 2]
      relids[#relids + 1] = ARGV[release + 3]
    end
    deleted = deleted + 1
    if op ~= 'Q' and op ~= 'C' and op ~= 'Z' and op ~= 'L' then processed = processed + 1 end
    if op == 'R' then
      zretry[#zretry + 1] = ARGV[i + 2]
      zretry[#zretry + 1] = ARGV[i + 3]
      failed = failed + 1
      fails[#fails + 1] = i
    elseif op == 'D' then
      local added = dead_add(dead, stats, ARGV[i + 2], ARGV[i + 3], groups)
      if added > 0 then
        deadbytes = deadbytes + added
        deadadded = deadadded + 1
      end
      failed = failed + 1
      fails[#fails + 1] = i
    elseif op == 'Q' then
      requeue[#requeue + 1] = ARGV[i + 3]
    elseif op == 'X' then
      discarded = discarded + 1
    elseif op == 'C' then
      cancelled = cancelled + 1
    elseif op == 'Z' then
      redis.call('ZADD', KEYS[8], ARGV[i + 2], ARGV[i + 3])
    end
  end
  if op ~= 'U' then release = nil end
end
dead_flush(stats, groups)
release_uniques(KEYS[9], relkeys, relids)
if #zretry > 0 then redis.call('ZADD', retry, unpack(zretry)) end
if #requeue > 0 then
  -- LPUSH reverses its arguments: push the last first so that the first
  -- requeued job ends up at the very head.
  local rev = {}
  for i = #requeue, 1, -1 do rev[#rev + 1] = requeue[i] end
  if redis.call('LPUSH', jobs, unpack(rev)) == #rev then ring(KEYS[7]) end
end
-- Error groups across batches: each failure written above counts once in
-- the bucket: c:<fp> count, l:<fp> last seen, i:<fp> sample; at most the
-- cap of groups, then "other".
if #fails > 0 and KEYS[11] then
  local errs, base = KEYS[11], last + 5
  local now, maxgroups, nums = ARGV[base], tonumber(ARGV[base + 2]), ARGV[base + 3]
  local counts, order = {}, {}
  for _, i in ipairs(fails) do
    local p = (i - first) / 2 + 1
    local hi, lo = string.byte(nums, p, p + 1)
    local g = hi * 256 + lo
    if g > 0 then
      if counts[g] == nil then
        counts[g] = 0
        order[#order + 1] = g
      end
      counts[g] = counts[g] + 1
    end
  end
  local ngroups = nil
  for _, g in ipairs(order) do
    local fp = ARGV[base + 2 + 2 * g]
    if redis.call('HEXISTS', errs, 'c:' .. fp) == 1 then
      redis.call('HINCRBY', errs, 'c:' .. fp, counts[g])
      redis.call('HSET', errs, 'l:' .. fp, now)
    else
      if ngroups == nil then ngroups = math.floor(redis.call('HLEN', errs) / 3) end
      if ngroups >= maxgroups then
        redis.call('HINCRBY', errs, 'other', counts[g])
      else
        redis.call('HSET', errs, 'c:' .. fp, counts[g], 'l:' .. fp, now, 'i:' .. fp, ARGV[base + 3 + 2 * g])
        ngroups = ngroups + 1
      end
    end
  end
  redis.call('EXPIRE', errs, ARGV[base + 1])
end
local dropped = 0
if deadadded > 0 then
  local excess = redis.call('ZCARD', dead) - tonumber(ARGV[2])
  if excess > 0 then
    local popped, refs = redis.call('ZPOPMIN', dead, excess), {}
    for i = 1, #popped, 2 do
      local m = popped[i]
      deadbytes = deadbytes - #m
      local ref = dead_ref(m)
      if ref then refs[ref] = (refs[ref] or 0) + 1 end
      dropped = dropped + 1
    end
    deadbytes = deadbytes - dead_release(stats, refs)
  end
end
local s = {}
if processed > 0 then s[#s + 1] = 'processed'; s[#s + 1] = processed end
if failed > 0 then s[#s + 1] = 'failed'; s[#s + 1] = failed end
for i = 1, #s, 2 do
  redis.call('HINCRBY', stats, s[i], s[i + 1])
  redis.call('HINCRBY', day, s[i], s[i + 1])
end
if #s > 0 then
  redis.call('EXPIRE', day, ARGV[1])
  -- Per minute: the ring's hash of this hour of the day starts over when
  -- it last counted another hour.
  local mk = KEYS[10]
  if redis.call('HGET', mk, 'h') ~= ARGV[mins] then
    redis.call('DEL', mk)
    redis.call('HSET', mk, 'h', ARGV[mins])
    redis.call('EXPIRE', mk, ARGV[mins + 3])
  end
  redis.call('HINCRBY', mk, ARGV[mins + 1], processed)
  if failed > 0 then redis.call('HINCRBY', mk, ARGV[mins + 2], failed) end
end
if discarded > 0 then redis.call('HINCRBY', stats, 'discarded', discarded) end
if cancelled > 0 then redis.call('HINCRBY', stats, 'cancelled', cancelled) end
if deadbytes ~= 0 then redis.call('HINCRBY', stats, 'dead_bytes', deadbytes) end
if dropped > 0 then redis.call('HINCRBY', stats, 'dead_dropped', dropped) end
return deleted
