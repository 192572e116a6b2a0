--[[ take_job_lock: start a run of a job unless a live run holds its lock.

Runs whose lock expired (their process died or hung) are removed from the running
set and returned, so the caller records them as failed, once.

KEYS[1] lock      hash  {run, expires_ms}; also expires by TTL, as a backstop
KEYS[2] running   set   run ids of the job's runs in progress

ARGV[1] run id
ARGV[2] now (ms)
ARGV[3] lock time to live (ms)

Returns {code, stale run ids}, its code a CODE_<NAME> (include/codes.lua,
engine.outcomes): APPLIED when the run took the lock, LOCK_HELD when a live run holds it.
]]

--- @include "codes"
--- @include "job_lock"

local now = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local live, stale = stale_runs(KEYS[1], KEYS[2], now)
if live then
  return {CODE_LOCK_HELD, stale}
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'run', ARGV[1], 'expires_ms', now + ttl)
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('SADD', KEYS[2], ARGV[1])
return {CODE_APPLIED, stale}
