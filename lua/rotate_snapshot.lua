--[[ rotate_snapshot: publish a board's snapshot in one step.

The caller has ranked the frozen copy of the board into the "ranking" set and
computed the top entries (with their previous ranks, from the snapshot being
replaced). This script replaces the old ranks with the new ones, stores the top
entries, and drops the frozen copy, together: readers never see a top list and
ranks from different snapshots.

KEYS[1] snapshot ranks     sorted set  player -> rank; replaced by KEYS[2]
KEYS[2] ranking            sorted set  the new ranks (no key when the board is empty)
KEYS[3] snapshot top       string      JSON document
KEYS[4] building           sorted set  the frozen copy of the scores, removed

ARGV[1] top document (JSON)
ARGV[2] time to live (seconds) of the snapshot keys

Returns CODE_APPLIED (include/codes.lua, engine.outcomes).
]]

--- @include "codes"

redis.call('UNLINK', KEYS[1], KEYS[4])
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('RENAME', KEYS[2], KEYS[1])
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
redis.call('SET', KEYS[3], ARGV[1])
redis.call('EXPIRE', KEYS[3], ARGV[2])
return CODE_APPLIED
