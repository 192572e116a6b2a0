--[[ read_cohort: cohorts of a tier and period, their members with their scores.

KEYS[1] members   hash        player -> their cohort's number
KEYS[2] rosters   hash        cohort number -> its members, space-separated
KEYS[3] scores    sorted set  player -> composite score

ARGV[1] "player", "cohort" or "cohorts": what ARGV[2..] name
ARGV[2] a player id (their cohort is read) or a cohort number
  with "cohorts": ARGV[2..] any number of cohort numbers (a period's close reads its
  cohorts a hundred a call)

Returns the cohort's number, then each member's id and composite score, in arrival
order; nothing (an empty list) when the player has no cohort in the tier or the cohort
does not exist. With "cohorts", for each cohort that exists, in the order asked: its
number, its member count n, then n pairs of member id and composite score.
]]

local function members_of(scores, roster, result)
  local players = {}
  for player in string.gmatch(roster, '%S+') do
    players[#players + 1] = player
  end
  local composites = redis.call('ZMSCORE', scores, unpack(players))
  for i, player in ipairs(players) do
    result[#result + 1] = player
    result[#result + 1] = composites[i] or '0'
  end
  return #players
end

if ARGV[1] == 'cohorts' then
  local result = {}
  if #ARGV < 2 then
    return result
  end
  local rosters = redis.call('HMGET', KEYS[2], unpack(ARGV, 2))
  for i, roster in ipairs(rosters) do
    if roster then
      result[#result + 1] = tonumber(ARGV[i + 1])
      local count_at = #result + 1
      result[count_at] = 0
      result[count_at] = members_of(KEYS[3], roster, result)
    end
  end
  return result
end

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
local result = {tonumber(number)}
members_of(KEYS[3], roster, result)
return result
