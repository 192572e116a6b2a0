--[[ include job_lock: a job's lock and the runs registered as running.

The lock is a hash {run, expires_ms}; a run holds it while expires_ms is after now
(the engine clock's, from ARGV), and its heartbeat keeps moving expires_ms. Every run
that takes the lock is added to the job's running set and leaves it when it ends.

stale_runs(lockKey, runningKey, nowMs) returns the live holder (or nil) and removes
and returns every other registered run: their process died or hung, since their lock
expired without a heartbeat. Removing them here means each is reported once.

Needs: nothing.
Provides stale_runs; takes everything as parameters.
]]

local function stale_runs(lockKey, runningKey, nowMs)
  local holder = redis.call('HMGET', lockKey, 'run', 'expires_ms')
  local live = nil
  if holder[1] and tonumber(holder[2]) > nowMs then
    live = holder[1]
  end
  local stale = {}
  for _, run in ipairs(redis.call('SMEMBERS', runningKey)) do
    if run ~= live then
      redis.call('SREM', runningKey, run)
      stale[#stale + 1] = run
    end
  end
  return live, stale
end
