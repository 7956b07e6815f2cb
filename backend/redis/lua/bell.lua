-- ring(bell) wakes one idle fetcher blocked on a queue's bell list (BLPOP
-- in Backend.WaitForJobs). The bell holds at most one ring: a ring nobody
-- waits for costs a one-element list per queue, and the next waiter
-- returns at once, fetches what there is and waits again.
local function ring(bell)
  if redis.call('EXISTS', bell) == 0 then redis.call('RPUSH', bell, '1') end
end
