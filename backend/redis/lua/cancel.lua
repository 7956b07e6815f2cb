#!lua flags=allow-oom
-- Cancel a job of one queue that is not scheduled or retrying (CancelJob
-- looks there itself), in one of two steps. ARGV[2] 'mark', before
-- CancelJob looks at the scheduled and retry sets: a job in flight is
-- left alone (its process cancels it); any other id is marked, so that a
-- queued job is dropped when fetched, including one that moves into the
-- queue meanwhile. 'settle', once CancelJob found it in neither set:
-- a job in flight now loses its mark; in an empty queue the mark goes,
-- unless a fetch already used it; otherwise the id stays marked.
-- KEYS: cancel, jobs, then wip:<proc> of every registered process
-- ARGV: id, step
-- Returns 'running', 'queued', or 'none' (not found; nothing marked).
local cancel, id = KEYS[1], ARGV[1]
for i = 3, #KEYS do
  if redis.call('HEXISTS', KEYS[i], id) == 1 then
    if ARGV[2] == 'settle' then redis.call('SREM', cancel, id) end
    return 'running'
  end
end
-- Jobs waiting over a global limit (limitlib.lua) are queued jobs too.
if ARGV[2] == 'mark' or redis.call('LLEN', KEYS[2]) > 0
    or redis.call('EXISTS', string.sub(KEYS[2], 1, -5) .. 'lgroups') == 1 then
  redis.call('SADD', cancel, id)
  return 'queued'
end
if redis.call('SREM', cancel, id) == 1 then return 'none' end
return 'queued' -- a fetch dropped it meanwhile
