--[[ read_cohort: cohorts of a tier and period, their members with their scores.

KEYS[1] members   hash        player -> their cohort's number
KEYS[2] rosters   hash        cohort number -> its members, space-separated;
                              `scores:<number>` -> their composite scores in the same order
KEYS[3] scores    sorted set  player -> composite score

ARGV[1] "player", "cohort" or "cohorts": what ARGV[2..] name
ARGV[2] a player id (their cohort is read) or a cohort number
  with "cohorts": ARGV[2..] any number of cohort numbers (a period's close reads its
  cohorts a hundred a call)

Returns the cohort's number, then each member's id and composite score, in arrival
order; nothing (an empty list) when the player has no cohort in the tier or the cohort
does not exist. With "cohorts", for each cohort that exists, in the order asked: its
number, its member count n, then n pairs of member id and composite score.

The composites come from the cohort's own copy (`scores:<number>`, written by
lua/join_league.lua), one lookup however large the tier; a cohort without one, or with
one out of step with its roster (a period that began before the copy existed), is read
from the tier-wide sorted set instead.
]]

local function members_of(scores, roster, copy, result)
  local players = {}
  for player in string.gmatch(roster, '%S+') do
    players[#players + 1] = player
  end
  local composites = {}
  for value in string.gmatch(copy or '', '%S+') do
    composites[#composites + 1] = value
  end
  if #composites ~= #players then
    composites = redis.call('ZMSCORE', scores, unpack(players))
  end
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
  local fields = {}
  for i = 2, #ARGV do
    fields[#fields + 1] = ARGV[i]
    fields[#fields + 1] = 'scores:' .. ARGV[i]
  end
  local found = redis.call('HMGET', KEYS[2], unpack(fields))
  for i = 1, #ARGV - 1 do
    local roster = found[2 * i - 1]
    if roster then
      result[#result + 1] = tonumber(ARGV[i + 1])
      local count_at = #result + 1
      result[count_at] = 0
      result[count_at] = members_of(KEYS[3], roster, found[2 * i], result)
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
local found = redis.call('HMGET', KEYS[2], number, 'scores:' .. number)
if not found[1] then
  return {}
end
local result = {tonumber(number)}
members_of(KEYS[3], found[1], found[2], result)
return result
