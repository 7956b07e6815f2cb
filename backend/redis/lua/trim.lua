#!lua flags=allow-oom
-- Enforce the dead set caps of one queue: age, count, bytes, and drop
-- `extra` more of the oldest (the total cap across queues). Drops are
-- counted in dead_dropped; dead_bytes follows every removal.
-- KEYS: dead, stats
-- ARGV: cutoff (ms; older entries go), max count, max bytes, extra
-- Returns {dropped, remaining count, remaining bytes}.
local dead, stats = KEYS[1], KEYS[2]
local dropped, bytes = 0, 0
while true do
  local old = redis.call('ZRANGEBYSCORE', dead, '-inf', '(' .. ARGV[1], 'LIMIT', 0, 500)
  if #old == 0 then break end
  redis.call('ZREM', dead, unpack(old))
  for _, m in ipairs(old) do bytes = bytes + #m end
  dropped = dropped + #old
  if #old < 500 then break end
end
local excess = redis.call('ZCARD', dead) - tonumber(ARGV[2])
if excess < 0 then excess = 0 end
excess = excess + tonumber(ARGV[4])
if excess > 0 then
  local popped = redis.call('ZPOPMIN', dead, excess)
  for i = 1, #popped, 2 do bytes = bytes + #popped[i] end
  dropped = dropped + #popped / 2
end
local db = (tonumber(redis.call('HGET', stats, 'dead_bytes')) or 0) - bytes
local maxb = tonumber(ARGV[3])
while db > maxb do
  local page = redis.call('ZRANGE', dead, 0, 99)
  if #page == 0 then break end
  local k = 0
  for _, m in ipairs(page) do
    if db <= maxb then break end
    db = db - #m
    bytes = bytes + #m
    k = k + 1
  end
  redis.call('ZREMRANGEBYRANK', dead, 0, k - 1)
  dropped = dropped + k
end
local left = redis.call('ZCARD', dead)
if left == 0 or db < 0 then db = 0 end
redis.call('HSET', stats, 'dead_bytes', db)
if dropped > 0 then redis.call('HINCRBY', stats, 'dead_dropped', dropped) end
return {dropped, left, db}
