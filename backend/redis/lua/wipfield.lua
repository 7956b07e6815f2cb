-- wipfield(payload) is the field under which a fetched payload is kept in
-- its process's in-flight hash: the job id read from the payload's prefix
-- (codec version 1, key of field 1 = 3, a one-byte length < 128, the id),
-- or "malformed-" and 20 hex chars of its SHA-1 (backend.MalformedJobID).
-- wipField in fetch.go is the same function in Go; keep them in step.
local function wipfield(p)
  local v, k, n = string.byte(p, 1, 3) -- one call: this runs for every fetched job
  if v == 1 and k == 3 and n and n > 0 and n < 128 and #p >= 3 + n then
    return string.sub(p, 4, 3 + n)
  end
  return 'malformed-' .. string.sub(redis.sha1hex(p), 1, 20)
end
