--[[ record_league_tiers: write the next tier a period's close gave each of many players.

KEYS, one per player (all of one player shard):
  1 league record   hash   period, tier, next

ARGV[1] the closed period, e.g. "2026-W48"
ARGV[2..] each player's next tier, in the order of KEYS

Sets each record's `next` to "<period>|<tier>": a join reads it only while the record
names that period (engine.leagues.cohorts), so a write that lands after the player
joined the next period changes nothing. One call replaces one HSET command a player
(the close of a million players sends about a thousand calls instead of a million
commands).

Returns the number of records written.
]]

for i, record in ipairs(KEYS) do
  redis.call('HSET', record, 'next', ARGV[1] .. '|' .. ARGV[i + 1])
end
return #KEYS
