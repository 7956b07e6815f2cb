#!lua flags=allow-oom
-- Remove the progress records of attempts that did not succeed (a failed
-- attempt keeps nothing). A final record ('S', an earlier success of the
-- same job) stays.
-- KEYS: data, exp, meta (outputlib.lua)
-- ARGV: members
-- Returns the number of records removed.
local data, exp, meta = KEYS[1], KEYS[2], KEYS[3]
local freed, n = 0, 0
for _, m in ipairs(ARGV) do
  local old = redis.call('HGET', data, m)
  if old and string.sub(old, 1, 1) ~= 'S' then
    freed = freed + out_remove(data, exp, m)
    n = n + 1
  end
end
if freed > 0 then redis.call('HINCRBY', meta, 'bytes', -freed) end
return n
