--[[ update_board: put a player's composite score and aggregates on one board.

Writes are absolute and only move forward: the score only if it is higher than the
board's (ZADD GT by hand), the aggregates only if they cover more exams. So the same
update may be repeated or arrive after a newer one, and the board ends the same.

KEYS[1] scores       sorted set  player -> composite score
KEYS[2] aggregates   hash        player -> "score:exams:questions:correct"

ARGV[1] player id
ARGV[2] composite score
ARGV[3] aggregates     "score:exams:questions:correct"
ARGV[4] exams          the exam count inside ARGV[3]
ARGV[5] expire-at      unix seconds (engine time), for both keys
ARGV[6] multiplier M   the board's composite multiplier
ARGV[7] now            unix seconds (engine time): expiry is set relative to it, so a
                       moved QA clock keeps the same lifetimes

Returns {rank, total}: the player's competition rank on the board now (1 + the
number of players with a higher total) and the total it is based on.
]]

local scores, aggregates = KEYS[1], KEYS[2]
local player, composite = ARGV[1], tonumber(ARGV[2])
local multiplier = tonumber(ARGV[6])

local current = tonumber(redis.call('ZSCORE', scores, player))
if current == nil or composite > current then
  redis.call('ZADD', scores, ARGV[2], player)
  current = composite
end

local stored = redis.call('HGET', aggregates, player)
local stored_exams = stored and tonumber(string.match(stored, '^%d+:(%d+):')) or 0
if tonumber(ARGV[4]) > stored_exams then
  redis.call('HSET', aggregates, player, ARGV[3])
end

local ttl = tonumber(ARGV[5]) - tonumber(ARGV[7])
redis.call('EXPIRE', scores, ttl)
redis.call('EXPIRE', aggregates, ttl)

local total = math.floor(current / multiplier)
local above = redis.call('ZCOUNT', scores, string.format('%d', (total + 1) * multiplier), '+inf')
return {above + 1, total}
