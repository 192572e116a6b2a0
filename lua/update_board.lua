--[[ update_board: put players' totals and aggregates on one board, in arrival order.

KEYS[1] scores       sorted set  player -> composite score
KEYS[2] aggregates   hash        player -> "score:exams:questions:correct"

ARGV[1] multiplier M   the board's composite multiplier
ARGV[2] expire-at      unix seconds (engine time), for a key this call creates
ARGV[3] now            unix seconds (engine time): expiry is set relative to it, so a
                       moved QA clock keeps the same lifetimes
ARGV[4..] one per player: "<player id>|<score:exams:questions:correct>"

Each player's sorted-set score is a composite, total * M + (M - 1 - place): higher
totals first, and among equal totals the player who reached the total on this board
first. `place` is the arrival order at that total: a player who reaches a total gets a
composite one below the last arrival still holding it (the lowest composite of that
total), or M - 1 when nobody holds it. The order is exact, whatever the time between
arrivals, for up to M arrivals at one total while it is held; past that they share the
last composite (Redis lists equal scores by member: ids in descending byte order).
Totals above cap = 2^53 / M - 2 rank as cap, so composites stay exact integers in a
double.

Writes are absolute and only move forward: a total only if it is higher than the one
the board holds, aggregates only if they cover more exams. So the same update may be
repeated or arrive after a newer one, and the board ends the same (a repeat keeps the
player's place). One call takes any number of players (an ingestion batch groups them
by board), placed in the order given: one ZMSCORE for all, one lookup of the lowest
composite per total reached, then one ZADD and one HSET for all the writes. A call with
one player (an exam a call) takes a shorter path to the same commands, without the
batch's tables.

Each key gets its expiry from the call that creates it, in the same atomic step (the
limits library's idiom): ZADD and HSET answer how many members and fields are new, and a
key holding only those is new. A key that exists was created with its expiry, which is
the period's end: writing to it again sends no EXPIRE. The one-player path counts the
higher totals before its write and asks ZCARD only when nobody holds a higher total or
the player's own: anyone else there means the board was not empty.

Returns first 1 when this call created the board (its sorted set; the caller puts a new
category board into its period's index), else 0; then, per player in order, two values:
the competition rank of the written total on the board after all the writes (1 + the
number of players with a higher total), and that total.
]]

local scores, aggregates = KEYS[1], KEYS[2]
local multiplier = tonumber(ARGV[1])
local cap = math.floor(9007199254740992 / multiplier) - 2

local function exact(number)
  return string.format('%d', number)
end

-- The composite of a new arrival at `total`: just below everyone holding it already.
--- @include "arrival"

-- Whether `text` (the sums of `total`) covers more than the stored sums of the same
-- ranked total: a higher total above the cap, or the same total over more exams.
local function newer(stored, total, text)
  if not stored then
    return true
  end
  local t, e = string.match(stored, '^(%d+):(%d+):')
  local exams = tonumber(string.match(text, '^%d+:(%d+):'))
  return total > tonumber(t) or (total == tonumber(t) and exams > tonumber(e))
end

-- 1 when `added` new members or fields made `key` (nothing else in it): then its expiry.
local function created(key, added, count)
  local new = 0
  if added > 0 and redis.call(count, key) == added then
    redis.call('EXPIRE', key, tonumber(ARGV[2]) - tonumber(ARGV[3]))
    new = 1
  end
  return new
end

if #ARGV == 4 then  -- one player: the same steps as below, one command each
  local player, text = string.match(ARGV[4], '^([^|]+)|(.+)$')
  -- Digit strings in arithmetic are numbers without tonumber's call (about 900
  -- instructions each, callgrind): `+ 0` converts as tonumber does.
  local total = string.match(text, '^(%d+):') + 0
  local ranked = math.min(total, cap)
  local held = redis.call('ZSCORE', scores, player)
  held = held and math.floor(held / multiplier)
  -- The players with a higher total, counted before the write: it cannot pass them (it
  -- stays below (ranked + 1) * M), and with the arrival they tell whether the board
  -- may hold this player alone, the only case ZCARD is asked.
  local above = (ranked + 1) * multiplier
  local higher = redis.call('ZCOUNT', scores, exact(above), '+inf')
  local board = 0
  if not held or held < ranked then
    local composite = arrival_composite(scores, ranked, multiplier, {})
    local added = redis.call('ZADD', scores, exact(composite), player)
    if higher == 0 and composite == above - 1 then  -- nobody above, nobody at the total
      board = created(scores, added, 'ZCARD')
    end
    created(aggregates, redis.call('HSET', aggregates, player, text), 'HLEN')
  elseif held == ranked and newer(redis.call('HGET', aggregates, player), total, text) then
    created(aggregates, redis.call('HSET', aggregates, player, text), 'HLEN')
  end
  return {board, higher + 1, total}
end

local players, sums, totals, ranked = {}, {}, {}, {}
for i = 4, #ARGV do
  local player, text = string.match(ARGV[i], '^([^|]+)|(.+)$')
  players[#players + 1] = player
  sums[#sums + 1] = text
  totals[#totals + 1] = tonumber(string.match(text, '^(%d+):'))
  ranked[#ranked + 1] = math.min(totals[#totals], cap)
end
if #players == 0 then
  return {created(scores, 0, 'ZCARD')}  -- 0: nothing written
end

-- What this call writes, kept here and stored at the end (one ZADD, one HSET): a later
-- write in the call sees the earlier ones through these tables.
local composites, written, order = {}, {}, {}
local lowest = {}  -- ranked total -> the lowest composite holding it, once looked up
local held_before = redis.call('ZMSCORE', scores, unpack(players))

local function arrival(total)
  return arrival_composite(scores, total, multiplier, lowest)
end

local function write(player, composite, text)
  if composites[player] == nil and written[player] == nil then
    order[#order + 1] = player
  end
  composites[player] = composite or composites[player]
  written[player] = text
end

for i, player in ipairs(players) do
  local held = composites[player] or (held_before[i] and tonumber(held_before[i]))
  held = held and math.floor(held / multiplier)
  if not held or held < ranked[i] then  -- a new total: the player arrives at it
    write(player, arrival(ranked[i]), sums[i])
  elseif held == ranked[i] then
    -- The same ranked total: an exam that scored nothing (more exams), a repeat, an
    -- older write, or a higher total above the cap; the stored sums tell which.
    local stored = written[player] or redis.call('HGET', aggregates, player)
    if newer(stored, totals[i], sums[i]) then
      write(player, nil, sums[i])
    end
  end
end

local members, fields = 0, 0  -- new ones, added by the writes
for first = 1, #order, 1000 do  -- at most 2000 arguments a command
  local score_args, hash_args = {}, {}
  for n = first, math.min(first + 999, #order) do
    local player = order[n]
    if composites[player] then
      score_args[#score_args + 1] = exact(composites[player])
      score_args[#score_args + 1] = player
    end
    hash_args[#hash_args + 1] = player
    hash_args[#hash_args + 1] = written[player]
  end
  if #score_args > 0 then
    members = members + redis.call('ZADD', scores, unpack(score_args))
  end
  fields = fields + redis.call('HSET', aggregates, unpack(hash_args))
end

local result, rank_of = {created(scores, members, 'ZCARD')}, {}
created(aggregates, fields, 'HLEN')
for i, total in ipairs(totals) do
  local rank = rank_of[ranked[i]]
  if rank == nil then
    rank = redis.call('ZCOUNT', scores, exact((ranked[i] + 1) * multiplier), '+inf') + 1
    rank_of[ranked[i]] = rank
  end
  result[#result + 1] = rank
  result[#result + 1] = total
end
return result
