--[[ replace_zone_table: a player's table of local days recomputed, written only over the
table it was computed from.

engine.ops.zone_tables reads a zoned player's settings, recomputes the table of their
local days over the same days with the zone database and reset hour of now (or, for a
table that runs out within a year, over the ten years from now), and sends it here when
it differs. The player may have set another zone (or cleared theirs)
since the read: then the settings are theirs to keep, and nothing is written.

KEYS[1] settings   hash  timezone, days, until (engine.keys.settings)

ARGV[1] timezone   the zone the table was recomputed for
ARGV[2] read       the table as it was read
ARGV[3] table      the recomputed table
ARGV[4] until      the last local day the recomputed table covers (YYYY-MM-DD)

Returns CODE_APPLIED when the table was replaced, CODE_NO_CHANGE when the settings
changed since the read (include/codes.lua, engine.outcomes.ScriptCode).
]]

--- @include "codes"

local settings = KEYS[1]
local current = redis.call('HMGET', settings, 'timezone', 'days')
if current[1] ~= ARGV[1] or current[2] ~= ARGV[2] then
  return CODE_NO_CHANGE
end
redis.call('HSET', settings, 'days', ARGV[3], 'until', ARGV[4])
return CODE_APPLIED
