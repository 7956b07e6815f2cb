#!lua flags=allow-oom
-- Remove job output records whose lifetime ended (the janitor's pass).
-- KEYS: data, exp, meta (outputlib.lua)
-- ARGV: now (ms), the most records to remove
-- Returns the number removed (the caller calls again while it is the
-- limit).
local data, exp, meta = KEYS[1], KEYS[2], KEYS[3]
local n, freed = out_sweep(data, exp, ARGV[1], tonumber(ARGV[2]))
if freed > 0 then redis.call('HINCRBY', meta, 'bytes', -freed) end
return n
