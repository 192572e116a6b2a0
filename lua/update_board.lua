--[[ update_board: put players' composite scores and aggregates on one board.

Writes are absolute and only move forward: a score only if it is higher than the
board's (ZADD GT), aggregates only if they cover more exams. So the same
update may be repeated or arrive after a newer one, and the board ends the same.
One call takes any number of players (an ingestion batch groups them by board).

KEYS[1] scores       sorted set  player -> composite score
KEYS[2] aggregates   hash        player -> "score:exams:questions:correct"

ARGV[1] multiplier M   the board's composite multiplier
ARGV[2] expire-at      unix seconds (engine time), for both keys
ARGV[3] now            unix seconds (engine time): expiry is set relative to it, so a
                       moved QA clock keeps the same lifetimes
ARGV[4..] one per player: "<player id>|<composite score>|<score:exams:questions:correct>"

Returns, per player in order, two values: the competition rank of the written total on
the board after all the writes (1 + the number of players with a higher total), and
that total.
]]

local scores, aggregates = KEYS[1], KEYS[2]
local multiplier = tonumber(ARGV[1])

local totals = {}
for i = 4, #ARGV do
  local player, composite_text, sums = string.match(ARGV[i], '^([^|]+)|(%d+)|(.+)$')
  local composite = tonumber(composite_text)
  -- A player's composite never falls within a period, so a write that raised it (or
  -- added the player) is newer than what the board holds; only one that did not (an
  -- older write, or a newer one that scored 0) needs the stored exam count to decide.
  if redis.call('ZADD', scores, 'GT', 'CH', composite_text, player) == 1 then
    redis.call('HSET', aggregates, player, sums)
  else
    local stored = redis.call('HGET', aggregates, player)
    local stored_exams = stored and tonumber(string.match(stored, '^%d+:(%d+):')) or 0
    if tonumber(string.match(sums, '^%d+:(%d+):')) > stored_exams then
      redis.call('HSET', aggregates, player, sums)
    end
  end
  totals[#totals + 1] = math.floor(composite / multiplier)
end

local ttl = tonumber(ARGV[2]) - tonumber(ARGV[3])
redis.call('EXPIRE', scores, ttl)
redis.call('EXPIRE', aggregates, ttl)

local result = {}
for i, total in ipairs(totals) do
  local above = redis.call('ZCOUNT', scores, string.format('%d', (total + 1) * multiplier), '+inf')
  result[#result + 1] = above + 1
  result[#result + 1] = total
end
return result
