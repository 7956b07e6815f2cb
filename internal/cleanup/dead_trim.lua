-- Trims one queue's dead set from its oldest end: the jobs beyond a count
-- cap and those that died before a cutoff, at most a chunk per call.
-- KEYS[1] = {jl:q:<q>}:dead, KEYS[2] = {jl:q:<q>}:stats (one slot).
-- ARGV[1] = count cap (-1: none), ARGV[2] = cutoff unix ms (-1: none),
-- ARGV[3] = chunk, ARGV[4] = "1" to remove, else only count.
-- Returns {removed, to remove before this call, payload bytes removed}, or
-- {-1, 0, 0} if KEYS[1] is not a zset or KEYS[2] not a hash (not joblot's).
-- Removed jobs are counted in dead_dropped; dead_bytes (the payload bytes
-- of the dead set, when the backend keeps it) goes down by their size.
local dt, st = redis.call('TYPE', KEYS[1]).ok, redis.call('TYPE', KEYS[2]).ok
if (dt ~= 'zset' and dt ~= 'none') or (st ~= 'hash' and st ~= 'none') then return {-1, 0, 0} end
local card = redis.call('ZCARD', KEYS[1])
local n = 0
local cap, cutoff = tonumber(ARGV[1]), tonumber(ARGV[2])
if cap >= 0 and card > cap then n = card - cap end
if cutoff >= 0 then
  local old = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. cutoff)
  if old > n then n = old end
end
local total = n
if n > tonumber(ARGV[3]) then n = tonumber(ARGV[3]) end
if n == 0 or ARGV[4] ~= '1' then return {0, total, 0} end
local bytes = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, n - 1)) do bytes = bytes + #m end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - 1)
redis.call('HINCRBY', KEYS[2], 'dead_dropped', n)
local cur = tonumber(redis.call('HGET', KEYS[2], 'dead_bytes'))
if cur then
  local left = cur - bytes
  if left < 0 then left = 0 end
  redis.call('HSET', KEYS[2], 'dead_bytes', left)
end
return {n, total, bytes}
