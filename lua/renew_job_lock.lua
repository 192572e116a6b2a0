--[[ renew_job_lock: the heartbeat of a run: move its lock's expiry on.

Only the holder renews, and only while its lock has not expired: a run that missed
its heartbeats has lost the lock even if no other run took it yet.

KEYS[1] lock      hash  {run, expires_ms}

ARGV[1] run id
ARGV[2] now (ms)
ARGV[3] lock time to live (ms)

Returns a CODE_<NAME> (include/codes.lua, engine.outcomes): APPLIED when renewed,
LOCK_LOST when the run no longer holds the lock.
]]

--- @include "codes"

local holder = redis.call('HMGET', KEYS[1], 'run', 'expires_ms')
if holder[1] ~= ARGV[1] or tonumber(holder[2]) <= tonumber(ARGV[2]) then
  return CODE_LOCK_LOST
end
redis.call('HSET', KEYS[1], 'expires_ms', tonumber(ARGV[2]) + tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return CODE_APPLIED
