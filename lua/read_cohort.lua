--[[ read_cohort: one cohort of a tier and period, its members with their scores.

KEYS[1] members   hash        player -> their cohort's number
KEYS[2] rosters   hash        cohort number -> its members, space-separated
KEYS[3] scores    sorted set  player -> composite score

ARGV[1] "player" or "cohort": what ARGV[2] names
ARGV[2] a player id (their cohort is read) or a cohort number

Returns the cohort's number, then each member's id and composite score, in arrival
order; nothing (an empty list) when the player has no cohort in the tier or the cohort
does not exist.
]]

local number = ARGV[2]
if ARGV[1] == 'player' then
  number = redis.call('HGET', KEYS[1], ARGV[2])
  if not number then
    return {}
  end
end
local roster = redis.call('HGET', KEYS[2], number)
if not roster then
  return {}
end
local players = {}
for player in string.gmatch(roster, '%S+') do
  players[#players + 1] = player
end
local composites = redis.call('ZMSCORE', KEYS[3], unpack(players))
local result = {tonumber(number)}
for i, player in ipairs(players) do
  result[#result + 1] = player
  result[#result + 1] = composites[i] or '0'
end
return result
