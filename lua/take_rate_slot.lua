--[[ take_rate_slot: count one state change in a moving rate-limit window, if it fits.

Used for the per-address limits of the state-changing routes (the per-player limits
run inside the action's own script, after its replay check). The caller removes its
member again (ZREM) when the change turns out to be a replay or a no-op.

KEYS[1] window   sorted set  member -> ms of each change in the window

ARGV[1] now      engine clock, ms
ARGV[2] count    changes the window allows
ARGV[3] window   ms
ARGV[4] member   a token of this call, or the request's own name (its idempotency
                 record's key): copies of one request share one place

Returns a CODE_<NAME> (include/codes.lua, engine.outcomes): {APPLIED} when counted,
{REPLAYED} when the member holds a place in the window already (a copy of the request
counted it: nothing is written, whether the window is full or not), {RATE_LIMITED, ms
until a change leaves the window} when full.
]]

--- @include "codes"
--- @include "rate"

local held = redis.call('ZSCORE', KEYS[1], ARGV[4])
if held and tonumber(held) > tonumber(ARGV[1]) - tonumber(ARGV[3]) then
  return {CODE_REPLAYED}
end
local taken, wait = take_slot(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]),
  tonumber(ARGV[3]), ARGV[4])
if taken then
  return {CODE_APPLIED}
end
return {CODE_RATE_LIMITED, wait}
