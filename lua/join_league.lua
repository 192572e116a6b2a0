--[[ join_league: place players in the cohorts of one tier and period, and write their scores.

KEYS[1] members   hash        player -> their cohort's number
KEYS[2] rosters   hash        cohort number -> its members, space-separated in arrival
                              order; `last` -> "<last cohort's number>|<its member count>"
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
whoever reached it first. Totals above 2^53 / M - 2 rank as that cap.

Returns, per player in order, two values: the cohort's number, and 1 if the player
joined with this call (0 if they were placed before).
]]

--- @include "arrival"

local members, rosters, scores = KEYS[1], KEYS[2], KEYS[3]
local size = tonumber(ARGV[1])
local multiplier = tonumber(ARGV[2])
local cap = math.floor(9007199254740992 / multiplier) - 2

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
