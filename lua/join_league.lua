--[[ join_league: place players in the cohorts of one tier and period, and write their scores.

KEYS[1] members   hash        player -> their cohort's number
KEYS[2] rosters   hash        cohort number -> its members, space-separated in arrival
                              order; `scores:<number>` -> their composite scores in the
                              same order; `last` -> "<last cohort's number>|<its member count>";
                              `closing` -> set once the period's close has begun
KEYS[3] scores    sorted set  player -> composite score, as a board's

ARGV[1] cohort size
ARGV[2] multiplier M   the composite multiplier (engine.boards.MULTIPLIER)
ARGV[3] expire-at      unix seconds (engine time), for every key this call creates
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

A key gets its expiry in the call that creates it, not on every call (the idiom of the
limits library): the members and scores hold only what this call added (HLEN, ZCARD
against the new fields and members HSET and ZADD answered), the rosters had no `last`.

Once the period's close has begun (engine.leagues.close marks the tier's rosters
`closing` before it reads them), the cohorts are what the close ranks and pays: a call
that lands then (an exam of the period's last moments, slow to arrive) writes nothing,
neither placing a player nor raising a total, whenever its caller read the time.

Returns, per player in order, two values: the cohort's number, and 1 if the player
joined with this call, 2 if they joined and opened the tier's first cohort (the tier's
keys created: a new tier of the period, or after Redis lost them; the caller writes the
tier into the period's tiers index), 0 if they were placed before. Once the close has
begun: their cohort's number, or 0 for a player in none, and 0.
]]

--- @include "arrival"

local members, rosters, scores = KEYS[1], KEYS[2], KEYS[3]
local size = tonumber(ARGV[1])
local multiplier = tonumber(ARGV[2])
local cap = math.floor(9007199254740992 / multiplier) - 2

-- The copy of a cohort's composites (its rosters field `scores:<number>`) rebuilt from
-- the scores, for a cohort placed before the copy existed or out of step with it.
local function rebuild_copy(field, roster)
  local players = {}
  for member in string.gmatch(roster, '%S+') do
    players[#players + 1] = member
  end
  local composites = redis.call('ZMSCORE', scores, unpack(players))
  for i = 1, #players do
    composites[i] = composites[i] and string.format('%d', tonumber(composites[i])) or '0'
  end
  redis.call('HSET', rosters, field, table.concat(composites, ' '))
end

local function words(text)
  local count = 0
  if text then
    local _, spaces = string.gsub(text, ' ', ' ')
    count = spaces + 1
  end
  return count
end

-- A placed member's new composite `text` written into their cohort's copy: string
-- searches rather than a split, the copy being rewritten on every exam of a member.
local function copy_composite(cohort, player, text)
  local field = 'scores:' .. cohort
  local found = redis.call('HMGET', rosters, cohort, field)
  local roster, copy = found[1], found[2]
  local from = string.find(' ' .. (roster or '') .. ' ', ' ' .. player .. ' ', 1, true)
  if not from then
    return  -- a member missing from their roster: nothing to keep in step
  end
  if words(copy) ~= words(roster) then
    rebuild_copy(field, roster)
    return
  end
  -- the member's place: the roster before them ends with a space, so words() counts them
  local start = 1  -- of their composite in the copy
  for _ = 2, words(string.sub(roster, 1, from - 1)) do
    start = string.find(copy, ' ', start, true) + 1
  end
  local stop = string.find(copy, ' ', start, true)
  local changed = string.sub(copy, 1, start - 1) .. text .. (stop and string.sub(copy, stop) or '')
  redis.call('HSET', rosters, field, changed)
end

if redis.call('HEXISTS', rosters, 'closing') == 1 then
  local result = {}
  for i = 5, #ARGV do
    local player = string.match(ARGV[i], '^([^|]+)|')
    result[#result + 1] = tonumber(redis.call('HGET', members, player) or 0)
    result[#result + 1] = 0
  end
  return result
end

local last = redis.call('HGET', rosters, 'last')
local number, count = 0, 0
if last then
  local n, c = string.match(last, '^(%d+)|(%d+)$')
  number, count = tonumber(n), tonumber(c)
end

local result, lowest, joins, added = {}, {}, 0, 0
for i = 5, #ARGV do
  local player, text = string.match(ARGV[i], '^([^|]+)|(%d+)$')
  local total = math.min(tonumber(text), cap)
  local cohort = redis.call('HGET', members, player)
  local joined = 0
  if cohort then
    cohort = tonumber(cohort)
  else
    joined = number == 0 and 2 or 1  -- 2: the tier's first cohort opens
    if number == 0 or count >= size then
      number, count = number + 1, 0
    end
    cohort, count = number, count + 1
    joins = joins + redis.call('HSET', members, player, cohort)
  end
  local held = redis.call('ZSCORE', scores, player)
  local composite = held and string.format('%d', tonumber(held))
  if not held or math.floor(tonumber(held) / multiplier) < total then
    composite = string.format('%d', arrival_composite(scores, total, multiplier, lowest))
    added = added + redis.call('ZADD', scores, composite, player)
    if joined == 0 then
      copy_composite(cohort, player, composite)
    end
  end
  if joined > 0 then  -- the roster and its copy grow by one together
    local field = 'scores:' .. cohort
    local found = redis.call('HMGET', rosters, cohort, field)
    local roster, copy = found[1], found[2]
    local grown = roster and (roster .. ' ' .. player) or player
    if words(copy) == words(roster) then
      local copied = copy and (copy .. ' ' .. composite) or composite
      redis.call('HSET', rosters, cohort, grown, field, copied)
    else
      redis.call('HSET', rosters, cohort, grown)
      rebuild_copy(field, grown)
    end
  end
  result[#result + 1] = cohort
  result[#result + 1] = joined
end

local ttl = tonumber(ARGV[3]) - tonumber(ARGV[4])
if joins > 0 then
  redis.call('HSET', rosters, 'last', number .. '|' .. count)
  if not last then  -- the rosters are new, or lost their `last`: the same expiry
    redis.call('EXPIRE', rosters, ttl)
  end
  if redis.call('HLEN', members) == joins then
    redis.call('EXPIRE', members, ttl)
  end
end
if added > 0 and redis.call('ZCARD', scores) == added then
  redis.call('EXPIRE', scores, ttl)
end
return result
