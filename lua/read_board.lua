--[[ read_board: a page of a board with ranks, aggregates and previous ranks.

Ranks are standard competition ranks (1, 2, 2, 4) computed from the totals inside
the composite scores; previous ranks come from the snapshot copy of the board, each
in O(log N): 1 + the number of players whose snapshot total was higher.

KEYS[1] scores            sorted set  player -> composite
KEYS[2] aggregates        hash        player -> "score:exams:questions:correct"
KEYS[3] snapshot scores   sorted set  the scores at the last snapshot (may not exist)

ARGV[1] mode        "top" or "around"
ARGV[2] multiplier  M of the board's composite scores
ARGV[3] top: offset (0-based)      around: player id
ARGV[4] top: limit                 around: entries on each side

Returns {total players, index of the first entry (0-based), then per entry five
values: player, total, rank, aggregates ("" if none), previous rank (-1 if none)},
or {-1} in "around" mode when the player is not on the board.
]]

local scores, aggregates, snapshot = KEYS[1], KEYS[2], KEYS[3]
local multiplier = tonumber(ARGV[2])
local total_players = redis.call('ZCARD', scores)

local first, last
if ARGV[1] == 'around' then
  local position = redis.call('ZREVRANK', scores, ARGV[3])
  if not position then
    return {-1}
  end
  first = math.max(0, position - tonumber(ARGV[4]))
  last = position + tonumber(ARGV[4])
else
  first = tonumber(ARGV[3])
  last = first + tonumber(ARGV[4]) - 1
end

local function above(key, total)
  return redis.call('ZCOUNT', key, string.format('%d', (total + 1) * multiplier), '+inf')
end

local previous_by_total = {}
local function previous_rank(player)
  local score = redis.call('ZSCORE', snapshot, player)
  if not score then
    return -1
  end
  local total = math.floor(tonumber(score) / multiplier)
  if not previous_by_total[total] then
    previous_by_total[total] = above(snapshot, total) + 1
  end
  return previous_by_total[total]
end

local page = redis.call('ZREVRANGE', scores, first, last, 'WITHSCORES')
local result = {total_players, first}
local rank, last_total
for i = 1, #page, 2 do
  local player = page[i]
  local total = math.floor(tonumber(page[i + 1]) / multiplier)
  if last_total == nil then
    rank = above(scores, total) + 1
  elseif total ~= last_total then
    rank = first + (i - 1) / 2 + 1
  end
  last_total = total
  result[#result + 1] = player
  result[#result + 1] = total
  result[#result + 1] = rank
  result[#result + 1] = redis.call('HGET', aggregates, player) or ''
  result[#result + 1] = previous_rank(player)
end
return result
