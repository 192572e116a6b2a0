--[[ read_board: a page of a board with ranks, aggregates and previous ranks.

Ranks are standard competition ranks (1, 2, 2, 4) computed from the totals inside
the composite scores: the first entry's rank is 1 + the number of players with a
higher total (one ZCOUNT), the others follow from their positions. Aggregates come
from one HMGET and previous ranks from one ZMSCORE on the snapshot's ranks, so a
page costs three O(log N) steps however many entries it has.

KEYS[1] scores            sorted set  player -> composite
KEYS[2] aggregates        hash        player -> "score:exams:questions:correct"
KEYS[3] snapshot ranks    sorted set  player -> rank at the last snapshot (may not exist)

ARGV[1] mode        "top" or "around"
ARGV[2] multiplier  M of the board's composite scores
ARGV[3] top: offset (0-based)      around: player id
ARGV[4] top: limit                 around: entries on each side

Returns {total players, index of the first entry (0-based), then per entry seven
values: player, total, rank, exams, questions, correct answers (0 when the board has
no aggregates for the player), previous rank (-1 if none)}, or {NOT_RANKED} (a CODE_<NAME>,
include/codes.lua, engine.outcomes: a negative number, never a count of players) in
"around" mode when the player is not on the board.
]]

--- @include "codes"

local scores, aggregates, snapshot = KEYS[1], KEYS[2], KEYS[3]
local multiplier = tonumber(ARGV[2])
local total_players = redis.call('ZCARD', scores)

local first, last
if ARGV[1] == 'around' then
  local position = redis.call('ZREVRANK', scores, ARGV[3])
  if not position then
    return {CODE_NOT_RANKED}
  end
  first = math.max(0, position - tonumber(ARGV[4]))
  last = position + tonumber(ARGV[4])
else
  first = tonumber(ARGV[3])
  last = first + tonumber(ARGV[4]) - 1
end

local page = redis.call('ZREVRANGE', scores, first, last, 'WITHSCORES')
local result = {total_players, first}
if #page == 0 then
  return result
end

local players = {}
for i = 1, #page, 2 do
  players[#players + 1] = page[i]
end
local stored = redis.call('HMGET', aggregates, unpack(players))
local previous = redis.call('ZMSCORE', snapshot, unpack(players))

local rank, last_total
for i, player in ipairs(players) do
  local total = math.floor(tonumber(page[2 * i]) / multiplier)
  if last_total == nil then
    rank = redis.call('ZCOUNT', scores, string.format('%d', (total + 1) * multiplier), '+inf') + 1
  elseif total ~= last_total then
    rank = first + i
  end
  last_total = total
  local exams, questions, correct = 0, 0, 0
  if stored[i] then
    exams, questions, correct = string.match(stored[i], '^%d+:(%d+):(%d+):(%d+)$')
  end
  result[#result + 1] = player
  result[#result + 1] = total
  result[#result + 1] = rank
  result[#result + 1] = tonumber(exams)
  result[#result + 1] = tonumber(questions)
  result[#result + 1] = tonumber(correct)
  result[#result + 1] = previous[i] and tonumber(previous[i]) or -1
end
return result
