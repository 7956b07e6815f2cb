#!lua
-- Create a batch unless it exists (idempotent).
-- ARGV: created (ms), horizon (ms), then field/value pairs (desc, parent,
--   deadline, cb:<event> payloads).
-- Returns 1 if created, 0 if it existed.
if redis.call('EXISTS', META) == 1 then return 0 end
local h = {'total', 0, 'pending', 0, 'created', ARGV[1]}
for i = 3, #ARGV, 2 do
  h[#h + 1] = ARGV[i]
  h[#h + 1] = ARGV[i + 1]
end
redis.call('HSET', META, unpack(h))
redis.call('PEXPIRE', META, ARGV[2])
return 1
