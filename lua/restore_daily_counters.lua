--[[ restore_daily_counters: write a player's day's counters back from SQL's copy (the
rebuild), never below what Redis holds, and never for less time than it has left.

Every field of a daily hash only grows during its day (counts: ads, a mission's
progress, earnings towards a cap; times: the bonus claimed, a mission done), so a field
Redis already holds higher than the copy (the day went on after the copy was read: a
rebuild run again, or while the players play) keeps its value: lowering it would let
the day's caps and missions pay again. A field the hash lacks takes the copy's value.
The expiry, too, is only ever extended: a live hash may outlive the copy's (its zone
cleared, or a move west, after the copy was persisted); a hash without one gets it.

KEYS[1] daily   hash   the player's counters of one game day (engine.keys.daily)

ARGV[1] ttl     seconds the hash lives from now at least (its day's end plus the grace)
ARGV[2..] field, value, ...   the copy's fields and their numbers

Returns {CODE_APPLIED, the number of fields written}.
]]

--- @include "codes"

local daily = KEYS[1]
local names = {}
for i = 2, #ARGV, 2 do
  names[#names + 1] = ARGV[i]
end
local held = #names > 0 and redis.call('HMGET', daily, unpack(names)) or {}
local raised = {}
for n, name in ipairs(names) do
  local value = ARGV[2 * n + 1]
  local old, new = tonumber(held[n]), tonumber(value)
  if not held[n] or (old and new and new > old) then
    raised[#raised + 1] = name
    raised[#raised + 1] = value
  end
end
if #raised > 0 then
  redis.call('HSET', daily, unpack(raised))
end
local left = redis.call('TTL', daily)  -- -1: no expiry, -2: no hash (nothing to keep)
if left == -1 or left < tonumber(ARGV[1]) then
  redis.call('EXPIRE', daily, ARGV[1])
end
return {CODE_APPLIED, #raised / 2}
