-- Claim up to ARGV[1] jobs: pop them from the head of the queue into the
-- process's in-flight hash with ONE variadic HSET (field = the payload's
-- 16-byte id prefix, value = the payload). The shape of joblot's fetch.lua.
-- KEYS: jobs, wip
-- Returns the claimed payloads.
local got = redis.call('LPOP', KEYS[1], ARGV[1])
if not got then return {} end
local h = {}
for i, p in ipairs(got) do
  h[2 * i - 1] = string.sub(p, 1, 16)
  h[2 * i] = p
end
redis.call('HSET', KEYS[2], unpack(h))
return got
