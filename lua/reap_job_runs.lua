--[[ reap_job_runs: find the runs of a job that died without ending.

KEYS[1] lock      hash  {run, expires_ms}
KEYS[2] running   set   run ids of the job's runs in progress

ARGV[1] now (ms)

Returns the run ids removed from the running set: registered, but no longer holding
the lock. Each is returned once, to whoever asks first.
]]

--- @include "job_lock"

local _, stale = stale_runs(KEYS[1], KEYS[2], tonumber(ARGV[1]))
return stale
