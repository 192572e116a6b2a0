--[[ release_job_lock: a run ends: leave the running set, free the lock if it holds it.

KEYS[1] lock      hash  {run, expires_ms}
KEYS[2] running   set   run ids of the job's runs in progress

ARGV[1] run id

Returns a CODE_<NAME> (include/codes.lua, engine.outcomes): APPLIED when the run was
still registered, LOCK_LOST when it had been declared dead (its lock expired and
another run or the watchdog reported it).
]]

--- @include "codes"

local registered = redis.call('SREM', KEYS[2], ARGV[1])
if redis.call('HGET', KEYS[1], 'run') == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
if registered == 0 then
  return CODE_LOCK_LOST
end
return CODE_APPLIED
