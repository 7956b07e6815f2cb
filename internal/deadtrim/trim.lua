#!lua flags=allow-oom
-- The dead-set caps of one queue (the rule is stated on backend.Limits):
-- drop, oldest first, the dead jobs that died before the cutoff, those
-- beyond the count cap and `extra` more (the total cap across queues),
-- then more until the payload bytes fit the byte cap. Drops are counted in
-- dead_dropped; dead_bytes follows every removal. Package deadtrim (Go)
-- encodes the arguments and decodes the reply.
-- KEYS: dead (zset), stats (hash) of one queue (one slot)
-- ARGV: cutoff (unix ms, -1: none), max count (-1: none), max bytes (-1:
-- none), extra, limit (most drops in this call, 0: none), "1" to drop
-- (else only count)
-- Returns {dropped, due, left count, left bytes}: due is how many were
-- beyond the caps before this call (those of the byte cap as far as this
-- call looked); or {-1, 0, 0, 0}, touching nothing, when dead is not a
-- zset or stats not a hash (keys named like joblot's that are not).
local dead, stats = KEYS[1], KEYS[2]
local dt, st = redis.call('TYPE', dead).ok, redis.call('TYPE', stats).ok
if (dt ~= 'zset' and dt ~= 'none') or (st ~= 'hash' and st ~= 'none') then return {-1, 0, 0, 0} end
local cutoff, maxn, maxb = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local extra, limit, apply = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6] == '1'
local card = redis.call('ZCARD', dead)
local cur = tonumber(redis.call('HGET', stats, 'dead_bytes'))
-- Age, count and extra drop the oldest n (scores are death times).
local n = 0
if maxn >= 0 and card > maxn then n = card - maxn end
if cutoff >= 0 then
  local old = redis.call('ZCOUNT', dead, '-inf', '(' .. cutoff)
  if old > n then n = old end
end
n = n + extra
if n > card then n = card end
local take = n
if limit > 0 and take > limit then take = limit end
-- The payload bytes of what goes: needed to keep dead_bytes and for the
-- byte cap; a dry run without a byte cap only counts. refs counts the
-- references of the entries that go (deadlib.lua).
local bytes, db, refs = 0, cur or 0, {}
if apply or maxb >= 0 then
  local at = 0
  while at < take do
    local page = redis.call('ZRANGE', dead, at, math.min(at + 500, take) - 1)
    for _, m in ipairs(page) do bytes = bytes + dead_cost(stats, refs, m) end
    at = at + #page
    if #page == 0 then break end
  end
  db = db - bytes
  -- The byte cap: keep dropping the oldest while the rest is too big.
  if maxb >= 0 and take == n then
    while db > maxb and take < card and (limit <= 0 or take < limit) do
      local page = redis.call('ZRANGE', dead, take, take + 99)
      if #page == 0 then break end
      for _, m in ipairs(page) do
        if db <= maxb or (limit > 0 and take >= limit) then break end
        local c = dead_cost(stats, refs, m)
        db = db - c
        bytes = bytes + c
        take = take + 1
      end
    end
    n = take
  end
end
if not apply then return {0, n, card, cur or 0} end
if take > 0 then
  redis.call('ZREMRANGEBYRANK', dead, 0, take - 1)
  dead_release(stats, refs)
end
local left = card - take
if left == 0 and (cur or 0) > 0 then
  -- An empty dead set whose stats still count bytes lost entries without
  -- this script (deleted by hand, or trimmed by a data model 3 process
  -- during a rolling deploy): their shared groups have no reader left, so
  -- they go now instead of staying in the stats hash for ever. A set
  -- emptied by this call released its groups above; this finds none.
  local f, gone = redis.call('HKEYS', stats), {}
  for _, k in ipairs(f) do
    local p = string.sub(k, 1, 2)
    if p == 'e:' or p == 'm:' or p == 'n:' then gone[#gone + 1] = k end
  end
  for i = 1, #gone, 500 do redis.call('HDEL', stats, unpack(gone, i, math.min(i + 499, #gone))) end
end
if left == 0 or db < 0 then db = 0 end
if take > 0 or (cur and cur ~= db) then redis.call('HSET', stats, 'dead_bytes', db) end
if take > 0 then redis.call('HINCRBY', stats, 'dead_dropped', take) end
return {take, n, left, db}
