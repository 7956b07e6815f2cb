-- clear_done: finish a clear_queue chunk: release the unique locks of its
-- jobs (read by the Go side from the decoded payloads, so nothing is
-- decoded here) and drop the chunk.
-- KEYS[1] :clearing   KEYS[2] :uniq   ARGV: pairs lock key, job id
local keys, ids = {}, {}
for i = 1, #ARGV, 2 do
  keys[#keys + 1] = ARGV[i]
  ids[#ids + 1] = ARGV[i + 1]
end
release_uniques(KEYS[2], keys, ids)
return redis.call('DEL', KEYS[1])
