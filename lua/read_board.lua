--[[ read_board: a page of a board with ranks, aggregates and previous ranks.

Ranks are standard competition ranks (1, 2, 2, 4) computed from the totals inside
the composite scores: the first entry's rank is 1 + the number of players with a
higher total (one ZCOUNT), the others follow from their positions. Aggregates come
from one HMGET and previous ranks from one ZMSCORE on the snapshot's ranks, so a
page costs three O(log N) steps however many entries it has.

The page is answered as Redis gives it: the caller (engine.boards.leaderboards)
derives each entry's total and rank and splits its aggregates. Doing that here, a
number parsed and a value appended per field, cost two fifths of the script's
instructions (callgrind, redis-server 7.0, a page of 11).

KEYS[1] scores            sorted set  player -> composite
KEYS[2] aggregates        hash        player -> "score:exams:questions:correct"
KEYS[3] snapshot ranks    sorted set  player -> rank at the last snapshot (may not exist)

ARGV[1] mode        "top" or "around"
ARGV[2] multiplier  M of the board's composite scores
ARGV[3] top: offset (0-based)      around: player id
ARGV[4] top: limit                 around: entries on each side

Returns {total players, index of the first entry (0-based)} for an empty page, else
{total players, index of the first entry, the first entry's rank, {player, composite,
...} (ZREVRANGE WITHSCORES), {aggregates or nil per entry} (HMGET), {previous rank or
nil per entry} (ZMSCORE)}; or {NOT_RANKED} (a CODE_<NAME>, include/codes.lua,
engine.outcomes: a negative number, never a count of players) in "around" mode when
the player is not on the board.
]]

--- @include "codes"

local scores, aggregates, snapshot = KEYS[1], KEYS[2], KEYS[3]
local total_players = redis.call('ZCARD', scores)

local first, last
if ARGV[1] == 'around' then
  local position = redis.call('ZREVRANK', scores, ARGV[3])
  if not position then
    return {CODE_NOT_RANKED}
  end
  local count = tonumber(ARGV[4])
  first = math.max(0, position - count)
  last = position + count
else
  first = tonumber(ARGV[3])
  last = first + tonumber(ARGV[4]) - 1
end

local page = redis.call('ZREVRANGE', scores, first, last, 'WITHSCORES')
if #page == 0 then
  return {total_players, first}
end

local players = {}
for i = 1, #page / 2 do
  players[i] = page[2 * i - 1]
end
local multiplier = tonumber(ARGV[2])
local first_total = math.floor(tonumber(page[2]) / multiplier)
local higher = redis.call(
  'ZCOUNT', scores, string.format('%d', (first_total + 1) * multiplier), '+inf'
)
return {
  total_players,
  first,
  higher + 1,
  page,
  redis.call('HMGET', aggregates, unpack(players)),
  redis.call('ZMSCORE', snapshot, unpack(players)),
}
