-- The adds record of one adding job: field <job id> of the batch's :adds
-- hash (batch_add.lua reserves, batch_landed.lua marks landed). Shared by
-- both (prepended after the shebang).
--
-- Format: "<count>" then runs, each "<sep><seq>:<n>:<index>": n jobs from
-- sequence number seq hold indexes from index on. count is how many
-- sequence numbers the job has used; every one below count is reserved.
--   sep ','  pending: reserved, its enqueue not known to have landed.
--   sep ';'  legacy: written before landed marks existed, when every add
--            from a job was enqueued under a once:<id> dedupe key; it may
--            have landed, so it is re-enqueued under that dedupe.
-- A reserved sequence number in no run has landed (or was recorded by a
-- version that kept only the count): it is skipped. Landing removes a range
-- from the runs, so an adder whose adds all landed keeps only "<count>".

-- adds_read returns the record of job by: count, runs
-- ({seq, n, index, legacy}, in record order) and whether it exists.
local function adds_read(key, by)
  local v = redis.call('HGET', key, by)
  if not v then return 0, {}, false end
  local runs = {}
  for sep, s, c, i in string.gmatch(v, '([;,])(%d+):(%d+):(%d+)') do
    runs[#runs + 1] = {tonumber(s), tonumber(c), tonumber(i), sep == ';'}
  end
  return tonumber(string.match(v, '^%d+')) or 0, runs, true
end

-- adds_write stores the record of job by.
local function adds_write(key, by, count, runs)
  local v = {tostring(count)}
  for _, r in ipairs(runs) do
    local sep = ','
    if r[4] then sep = ';' end
    v[#v + 1] = string.format('%s%d:%d:%d', sep, r[1], r[2], r[3])
  end
  redis.call('HSET', key, by, table.concat(v))
end
