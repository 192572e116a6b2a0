--[[ remove_cohort_member: take a player out of their cohort of one tier and period.

KEYS[1] members   hash        player -> their cohort's number
KEYS[2] rosters   hash        cohort number -> its members, space-separated in arrival
                              order; `scores:<number>` -> their composite scores in the
                              same order; `last` -> "<last cohort's number>|<its member count>";
                              `closing` -> set once the period's close has begun;
                              `removed` -> the players removed from the tier this period,
                              space-separated, each once
KEYS[3] scores    sorted set  player -> composite score

ARGV[1] the player id

For a cheater (engine.boards.moderation): the player leaves the members, their cohort's
roster and the scores (the tier's sorted set and the cohort's copy of its composites),
so the cohort's standings, zones and close go on without them and
everyone below moves up. When the cohort is the last one of the tier, its member count
in `last` drops by one, so the next player to join takes the freed place (join_league
never fills a cohort over its size). A cohort left empty loses its roster. The player
is added to `removed`, which the close reads: it ranks and pays them no more, but keeps
them in the tier they played the period in (a result row of no cohort), as a player who
played it rather than one away for it. Calling it again, or for a player not in the
tier, writes nothing. Once the period's close has
begun (engine.leagues.close marks the tier's rosters `closing` before it reads them),
the cohorts are what the close ranks and pays: nothing is written, whenever the
caller last looked at the close.

Returns the number of the cohort the player left, or 0 if they were in none (or the
close had begun).
]]

local members, rosters, scores = KEYS[1], KEYS[2], KEYS[3]
local player = ARGV[1]

local function take_out(number)
  redis.call('HDEL', members, player)
  redis.call('ZREM', scores, player)
  local field = 'scores:' .. number
  local found = redis.call('HMGET', rosters, number, field)
  local composites = {}
  for value in string.gmatch(found[2] or '', '%S+') do
    composites[#composites + 1] = value
  end
  local kept, kept_composites, at = {}, {}, 0
  for member in string.gmatch(found[1] or '', '%S+') do
    at = at + 1
    if member ~= player then
      kept[#kept + 1] = member
      kept_composites[#kept_composites + 1] = composites[at]
    end
  end
  if #kept > 0 then
    redis.call('HSET', rosters, number, table.concat(kept, ' '))
  else
    redis.call('HDEL', rosters, number)
  end
  if #kept > 0 and #composites == at then
    redis.call('HSET', rosters, field, table.concat(kept_composites, ' '))
  else  -- no copy, or one out of step: read_cohort.lua reads the sorted set
    redis.call('HDEL', rosters, field)
  end
  local last = redis.call('HGET', rosters, 'last')
  if last then
    local n, c = string.match(last, '^(%d+)|(%d+)$')
    if n == number and tonumber(c) > 0 then
      redis.call('HSET', rosters, 'last', n .. '|' .. (tonumber(c) - 1))
    end
  end
  local removed = redis.call('HGET', rosters, 'removed')
  if not removed then
    redis.call('HSET', rosters, 'removed', player)
  elseif not string.find(' ' .. removed .. ' ', ' ' .. player .. ' ', 1, true) then
    redis.call('HSET', rosters, 'removed', removed .. ' ' .. player)
  end
end

local left = 0  -- the number of the cohort the player left
if redis.call('HEXISTS', rosters, 'closing') == 1 then
  return left
end
local number = redis.call('HGET', members, player)
if number then
  take_out(number)
  left = tonumber(number)
end
return left
