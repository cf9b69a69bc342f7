-- Check and reserve one request against every limit of one API key, atomically.
--
-- KEYS[1] minute window (hash: w = window id, r = requests, t = tokens; expires with the window)
-- KEYS[2] tokens used today (string; expires after the day)
-- KEYS[3] micro-USD spent this month (string; expires after the month)
-- ARGV: window id to use if a new window starts, rpm, tpm, tokens per day, budget in micro-USD
--       (0 = no limit for the first three, -1 = no budget), estimated tokens, estimated
--       micro-USD, seconds until the day ends, seconds until the month ends, window length in ms,
--       1 to ask for a seed (below) when a budget applies and the month counter is missing
-- Returns {allowed, limit hit or "", window id, requests, tokens, window ms left, retry ms,
--          tokens today, micro-USD this month}. Limit hit "unseeded": nothing was counted; the
-- caller sets the month counter from the usage ledger (SET NX) and asks again.
-- The month counter is kept only while a budget applies (or it exists already), so one that
-- is missing means "lost or never counted": its value must come from the ledger.
local rpm, tpm, per_day, budget = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local tokens, cost = tonumber(ARGV[6]), tonumber(ARGV[7])
local day_ttl, month_ttl, window_ms = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local month = redis.call('GET', KEYS[3])
local has_month = month ~= false
if ARGV[11] == '1' and budget >= 0 and not has_month then
  return {0, 'unseeded', ARGV[1], 0, 0, window_ms, 0, 0, 0}
end

local window = redis.call('HMGET', KEYS[1], 'w', 'r', 't')
local wid, requests, used = window[1], tonumber(window[2]) or 0, tonumber(window[3]) or 0
local left = window_ms
if wid then
  left = redis.call('PTTL', KEYS[1])
  if left < 0 then left = window_ms end
else
  wid = ARGV[1]
end
local today = tonumber(redis.call('GET', KEYS[2]) or '0')
local spent = tonumber(month or '0')

local hit, retry = '', 0
if rpm > 0 and requests + 1 > rpm then
  hit, retry = 'rpm', left
elseif tpm > 0 and used + tokens > tpm then
  hit, retry = 'tpm', left
elseif per_day > 0 and today + tokens > per_day then
  hit, retry = 'tokens_per_day', day_ttl * 1000
elseif budget >= 0 and spent + cost > budget then
  hit, retry = 'budget', month_ttl * 1000
end
if hit ~= '' then
  return {0, hit, wid, requests, used, left, retry, today, spent}
end

if window[1] then
  requests = redis.call('HINCRBY', KEYS[1], 'r', 1)
  used = redis.call('HINCRBY', KEYS[1], 't', tokens)
else
  requests, used = 1, tokens
  redis.call('HSET', KEYS[1], 'w', wid, 'r', requests, 't', used)
  redis.call('PEXPIRE', KEYS[1], window_ms)
end
today = redis.call('INCRBY', KEYS[2], tokens)
redis.call('EXPIRE', KEYS[2], day_ttl + 3600)
if budget >= 0 or has_month then
  spent = redis.call('INCRBY', KEYS[3], cost)
  redis.call('EXPIRE', KEYS[3], month_ttl + 86400)
end
return {1, '', wid, requests, used, left, 0, today, spent}
