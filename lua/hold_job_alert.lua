--[[ hold_job_alert: whether a job's failure is alerted now, or held back and counted.

A job that fails every run (the persist job every few seconds through a SQL outage)
would alert on every run: hundreds of POSTs to ALERT_WEBHOOK_URL an hour, one of them
news. The first failure is alerted; failures within `quiet` of that alert are counted
only; the first one after it is alerted with the count held back meanwhile.

KEYS[1] alerting  hash  {next_ms, held}: the engine time from which a failure is
                        alerted again, and the failures held back since the last alert

ARGV[1] now       engine clock, ms
ARGV[2] quiet     ms after an alert during which the job's failures are only counted
ARGV[3] ttl       seconds the hash lives after an alert (a job that stops failing leaves
                  it to expire; its success deletes it first, engine.ops.job_alerts)

Returns a CODE_<NAME> (include/codes.lua, engine.outcomes): {APPLIED, held} when this
failure is to be alerted now, `held` the failures held back since the previous alert;
{NO_CHANGE} when it is held back (counted). A clock moved back before the last alert
alerts again, rather than stay quiet until the engine time catches up.
]]

--- @include "codes"

local alerting = KEYS[1]
local now, quiet = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', alerting, 'next_ms', 'held')
local next_ms = tonumber(state[1] or '0')
if now < next_ms and next_ms - now <= quiet then
  redis.call('HINCRBY', alerting, 'held', 1)
  return {CODE_NO_CHANGE}
end
redis.call('HSET', alerting, 'next_ms', string.format('%d', now + quiet), 'held', 0)
redis.call('EXPIRE', alerting, ARGV[3])
return {CODE_APPLIED, tonumber(state[2] or '0')}
