--[[ rotate_snapshot: publish a board's snapshot in one step.

The caller has copied the board's scores into the "building" set and computed the
top entries (with their previous ranks, from the snapshot being replaced). This
script replaces the old snapshot copy with the new one and stores the top entries,
together, so readers never see a top list and a copy from different snapshots.

KEYS[1] snapshot scores    sorted set  replaced by KEYS[2]
KEYS[2] building           sorted set  the new copy (may be empty: no key)
KEYS[3] snapshot top       string      JSON document

ARGV[1] top document (JSON)
ARGV[2] time to live (seconds) of the snapshot keys

Returns 1.
]]

redis.call('UNLINK', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('RENAME', KEYS[2], KEYS[1])
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
redis.call('SET', KEYS[3], ARGV[1])
redis.call('EXPIRE', KEYS[3], ARGV[2])
return 1
