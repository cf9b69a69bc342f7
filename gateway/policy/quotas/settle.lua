-- Replace a reservation's estimate with the real usage.
--
-- KEYS as for reserve.lua. ARGV: the reservation's window id, token difference, micro-USD
-- difference (real minus reserved; either may be negative). The minute window is corrected only
-- while it is the one reserved in; counters never go below zero.
local wid, tokens, cost = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local function adjust(key, delta)
  if delta ~= 0 and redis.call('EXISTS', key) == 1 then
    if redis.call('INCRBY', key, delta) < 0 then redis.call('SET', key, 0, 'KEEPTTL') end
  end
end
if tokens ~= 0 and redis.call('HGET', KEYS[1], 'w') == wid then
  if redis.call('HINCRBY', KEYS[1], 't', tokens) < 0 then redis.call('HSET', KEYS[1], 't', 0) end
end
adjust(KEYS[2], tokens)
adjust(KEYS[3], cost)
return 1
