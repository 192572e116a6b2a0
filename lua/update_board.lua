--[[ update_board: put players' totals and aggregates on one board, in arrival order.

Each player's sorted-set score is a composite, total * M + (M - 1 - place): higher
totals first, and among equal totals the player who reached the total on this board
first. `place` is the arrival order at that total: a player who reaches a total gets a
composite one below the last arrival still holding it (the lowest composite of that
total), or M - 1 when nobody holds it. The order is exact, whatever the time between
arrivals, for up to M arrivals at one total while it is held; past that they share the
last composite (and Redis lists them by member). Totals above cap = 2^53 / M - 2 rank
as cap, so composites stay exact integers in a double.

Writes are absolute and only move forward: a total only if it is higher than the one
the board holds, aggregates only if they cover more exams. So the same update may be
repeated or arrive after a newer one, and the board ends the same (a repeat keeps the
player's place). One call takes any number of players (an ingestion batch groups them
by board), placed in the order given.

KEYS[1] scores       sorted set  player -> composite score
KEYS[2] aggregates   hash        player -> "score:exams:questions:correct"

ARGV[1] multiplier M   the board's composite multiplier
ARGV[2] expire-at      unix seconds (engine time), for both keys
ARGV[3] now            unix seconds (engine time): expiry is set relative to it, so a
                       moved QA clock keeps the same lifetimes
ARGV[4..] one per player: "<player id>|<score:exams:questions:correct>"

Returns, per player in order, two values: the competition rank of the written total on
the board after all the writes (1 + the number of players with a higher total), and
that total.
]]

local scores, aggregates = KEYS[1], KEYS[2]
local multiplier = tonumber(ARGV[1])
local cap = math.floor(9007199254740992 / multiplier) - 2

local function exact(number)
  return string.format('%d', number)
end

-- The composite of a new arrival at `total`: after everyone who holds it already.
local function arrival(total)
  local low = total * multiplier
  local last = redis.call('ZRANGEBYSCORE', scores, exact(low), '(' .. exact(low + multiplier),
    'WITHSCORES', 'LIMIT', 0, 1)
  if #last == 0 then
    return low + multiplier - 1
  end
  return math.max(low, tonumber(last[2]) - 1)
end

local ranked = {}
local totals = {}
for i = 4, #ARGV do
  local player, sums = string.match(ARGV[i], '^([^|]+)|(.+)$')
  local total, exams = string.match(sums, '^(%d+):(%d+):')
  total, exams = tonumber(total), tonumber(exams)
  local rank_total = math.min(total, cap)
  local held = redis.call('ZSCORE', scores, player)
  held = held and math.floor(tonumber(held) / multiplier)
  if not held or held < rank_total then  -- a new total: the player arrives at it
    redis.call('ZADD', scores, exact(arrival(rank_total)), player)
    redis.call('HSET', aggregates, player, sums)
  elseif held == rank_total then
    -- The same ranked total: an exam that scored nothing (more exams), a repeat, an
    -- older write, or a higher total above the cap; the stored sums tell which.
    local stored = redis.call('HGET', aggregates, player)
    local newer = true
    if stored then
      local t, e = string.match(stored, '^(%d+):(%d+):')
      t, e = tonumber(t), tonumber(e)
      newer = total > t or (total == t and exams > e)
    end
    if newer then
      redis.call('HSET', aggregates, player, sums)
    end
  end
  ranked[#ranked + 1] = rank_total
  totals[#totals + 1] = total
end

local ttl = tonumber(ARGV[2]) - tonumber(ARGV[3])
redis.call('EXPIRE', scores, ttl)
redis.call('EXPIRE', aggregates, ttl)

local result = {}
for i, total in ipairs(totals) do
  local above = redis.call('ZCOUNT', scores, exact((ranked[i] + 1) * multiplier), '+inf')
  result[#result + 1] = above + 1
  result[#result + 1] = total
end
return result
