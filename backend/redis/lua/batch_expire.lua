#!lua flags=allow-oom
-- Mark an uncommitted batch past its commit deadline expired.
-- ARGV: now. Returns 1 when the batch needs no more watching (expired,
-- committed or gone), 0 otherwise.
local m = load_meta()
if not m then return 1 end
if m.committed_at then return 1 end
if m.expired then return 1 end
if finished(m, ARGV[1]) then return 1 end
return 0
