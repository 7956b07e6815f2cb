#!lua flags=allow-oom
-- Resume a paused queue and ring its bell, so that an idle fetcher takes
-- the jobs that waited. KEYS: paused, bell
redis.call('DEL', KEYS[1])
ring(KEYS[2])
return 1
