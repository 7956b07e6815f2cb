-- Set (or, with conc and rate 0, remove) one queue's global limit
-- (backend.Backend.SetLimits). When it changes, every job waiting over the
-- old concurrency limit goes back to the head of the queue, in its order,
-- for the next fetch to judge again.
-- KEYS: limit, jobs, bell
-- ARGV: conc, rate, per (ms), by
-- Returns {changed (0/1), jobs moved back}.
local prefix = string.sub(KEYS[2], 1, -5)
local old = redis.call('HMGET', KEYS[1], 'conc', 'rate', 'per', 'by')
local off = ARGV[1] == '0' and ARGV[2] == '0'
if off then
  if redis.call('DEL', KEYS[1]) == 0 then return {0, 0} end
else
  if old[1] == ARGV[1] and old[2] == ARGV[2] and old[3] == ARGV[3] and old[4] == ARGV[4] then return {0, 0} end
  redis.call('HSET', KEYS[1], 'conc', ARGV[1], 'rate', ARGV[2], 'per', ARGV[3], 'by', ARGV[4])
end
local moved = 0
for _, g in ipairs(redis.call('SMEMBERS', prefix .. 'lgroups')) do
  local wait = prefix .. 'lwait:' .. g
  while redis.call('LMOVE', wait, KEYS[2], 'RIGHT', 'LEFT') do moved = moved + 1 end
  if redis.call('EXISTS', prefix .. 'lrun:' .. g) == 0 then redis.call('SREM', prefix .. 'lgroups', g) end
end
if moved > 0 then ring(KEYS[3]) end
return {1, moved}
