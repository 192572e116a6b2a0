--[[ join_league: place players in the cohorts of one tier and period, and write their scores.

KEYS[1] members   hash        player -> their cohort's number
KEYS[2] rosters   hash        cohort number -> its members, space-separated in arrival
                              order; `scores:<number>` -> their composite scores in the
                              same order; `last` -> "<last cohort's number>|<its member count>"
KEYS[3] scores    sorted set  player -> composite score, as a board's

ARGV[1] cohort size
ARGV[2] multiplier M   the composite multiplier (engine.boards.MULTIPLIER)
ARGV[3] expire-at      unix seconds (engine time), for every key
ARGV[4] now            unix seconds (engine time)
ARGV[5..] one per player: "<player id>|<total>", the player's total for the period

A player not yet in a cohort of this tier joins the last cohort while it has room, and
opens the next one when it is full: cohorts fill in arrival order and none ever holds
more than the size, since the placement and the count are one atomic step on one slot.
A player already placed keeps their cohort. Totals are written only upwards, with the
boards' tie rule (lua/include/arrival.lua): higher totals first, and among equal totals
whoever reached it first. Totals above 2^53 / M - 2 rank as that cap. Each composite
written to the scores is written to its cohort's `scores:<number>` too, so reading a
cohort (lua/read_cohort.lua) is one lookup in a small hash field rather than one per
member in the tier-wide sorted set; a cohort whose copy is missing or out of step (one
placed before the copy existed) gets it rebuilt from the sorted set.

Returns, per player in order, two values: the cohort's number, and 1 if the player
joined with this call (0 if they were placed before).
]]

--- @include "arrival"

local members, rosters, scores = KEYS[1], KEYS[2], KEYS[3]
local size = tonumber(ARGV[1])
local multiplier = tonumber(ARGV[2])
local cap = math.floor(9007199254740992 / multiplier) - 2

-- The cohort's copy of its composites, in its roster's order, after `player` (in the
-- roster) got `composite` in the scores.
local function copy_composite(cohort, player, composite)
  local field = 'scores:' .. cohort
  local found = redis.call('HMGET', rosters, cohort, field)
  local roster, copy = found[1], found[2]
  local players, composites = {}, {}
  local at = nil
  for member in string.gmatch(roster or '', '%S+') do
    players[#players + 1] = member
    if member == player then
      at = #players
    end
  end
  if not at then
    return  -- a member missing from their roster: nothing to keep in step
  end
  for value in string.gmatch(copy or '', '%S+') do
    composites[#composites + 1] = value
  end
  local text = string.format('%d', composite)
  if copy and #composites == #players then
    composites[at] = text
  elseif at == #players and (copy or at == 1) and #composites == at - 1 then
    composites[at] = text
  else
    composites = redis.call('ZMSCORE', scores, unpack(players))
    for i = 1, #players do
      composites[i] = composites[i] and string.format('%d', tonumber(composites[i])) or '0'
    end
  end
  redis.call('HSET', rosters, field, table.concat(composites, ' '))
end

local last = redis.call('HGET', rosters, 'last')
local number, count = 0, 0
if last then
  local n, c = string.match(last, '^(%d+)|(%d+)$')
  number, count = tonumber(n), tonumber(c)
end

local result, lowest, joined_any = {}, {}, false
for i = 5, #ARGV do
  local player, text = string.match(ARGV[i], '^([^|]+)|(%d+)$')
  local total = math.min(tonumber(text), cap)
  local cohort = redis.call('HGET', members, player)
  local joined = 0
  if cohort then
    cohort = tonumber(cohort)
  else
    if number == 0 or count >= size then
      number, count = number + 1, 0
    end
    cohort, count, joined = number, count + 1, 1
    joined_any = true
    redis.call('HSET', members, player, cohort)
    local roster = redis.call('HGET', rosters, cohort)
    redis.call('HSET', rosters, cohort, roster and (roster .. ' ' .. player) or player)
  end
  local held = redis.call('ZSCORE', scores, player)
  if not held or math.floor(tonumber(held) / multiplier) < total then
    local composite = arrival_composite(scores, total, multiplier, lowest)
    redis.call('ZADD', scores, string.format('%d', composite), player)
    copy_composite(cohort, player, composite)
  end
  result[#result + 1] = cohort
  result[#result + 1] = joined
end

if joined_any then
  redis.call('HSET', rosters, 'last', number .. '|' .. count)
end
local ttl = tonumber(ARGV[3]) - tonumber(ARGV[4])
for _, key in ipairs(KEYS) do
  redis.call('EXPIRE', key, ttl)
end
return result
