#!lua flags=no-writes
-- Read one page of a sorted set in listing order (ascending, or descending
-- for the dead set), continuing after a position (score, member prefix)
-- rather than at an offset, so removing listed entries between pages never
-- makes the listing skip one. Within one score Redis orders members
-- bytewise; the entries tied at the cursor's score are binary searched
-- (ranks are O(log n) to reach), and members that start with the prefix
-- count as already listed (the prefix holds the job ID).
-- KEYS: the set   ARGV: rev (1: descending), score ('' to start), prefix, n
-- Returns member, score, member, score, ...
local key, rev, n = KEYS[1], ARGV[1] == '1', tonumber(ARGV[4])
local range = rev and 'ZREVRANGE' or 'ZRANGE'
local start = 0
if ARGV[2] ~= '' then
  local s, p = ARGV[2], ARGV[3]
  -- cmp compares a with b bytewise (not with the locale's collation).
  local function cmp(a, b)
    for i = 1, math.min(#a, #b) do
      local x, y = string.byte(a, i), string.byte(b, i)
      if x ~= y then return x < y and -1 or 1 end
    end
    if #a == #b then return 0 end
    return #a < #b and -1 or 1
  end
  -- after: m comes after every member starting with p in listing order.
  local function after(m)
    if string.sub(m, 1, #p) == p then return false end
    local c = cmp(m, p)
    if rev then return c < 0 end
    return c > 0
  end
  local lo
  if rev then
    lo = redis.call('ZCOUNT', key, '(' .. s, '+inf')
  else
    lo = redis.call('ZCOUNT', key, '-inf', '(' .. s)
  end
  local hi = lo + redis.call('ZCOUNT', key, s, s)
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if after(redis.call(range, key, mid, mid)[1]) then hi = mid else lo = mid + 1 end
  end
  start = lo
end
return redis.call(range, key, start, start + n - 1, 'WITHSCORES')
