-- clear_done: finish a clear_queue chunk: release the unique locks of its
-- jobs (read by the Go side from the decoded payloads, so nothing is
-- decoded here) and drop the chunk.
-- KEYS[1] :clearing   KEYS[2] :uniq   ARGV: pairs lock key, job id
for i = 1, #ARGV, 2 do release_unique(KEYS[2], ARGV[i], ARGV[i + 1]) end
return redis.call('DEL', KEYS[1])
