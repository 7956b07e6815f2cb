-- wipfield(payload) is the field under which a fetched payload is kept in
-- its process's in-flight hash: the job id read from the payload's prefix
-- (codec version 1, key of field 1 = 3, a one-byte length < 128, the id),
-- or "malformed-" and 20 hex chars of its SHA-1 (backend.MalformedJobID).
-- wipField in fetch.go is the same function in Go; keep them in step.
local function wipfield(p)
  if #p >= 4 and string.byte(p, 1) == 1 and string.byte(p, 2) == 3 then
    local n = string.byte(p, 3)
    if n > 0 and n < 128 and #p >= 3 + n then
      return string.sub(p, 4, 3 + n)
    end
  end
  return 'malformed-' .. string.sub(redis.sha1hex(p), 1, 20)
end
