--[[ record_exam: count one exam attempt into the player's aggregates, exactly once,
with everything it earns: the day's login bonus if this is the player's first
activity of the game day, mission progress and rewards, battle-pass XP and level
rewards (see include/progress.lua), each balance change with its ledger entry.

For each period type (weekly, monthly, yearly) the player's stats hash holds, per
board category ("global" and the exam's category), the exact sums: score, exams,
questions, correct, and `reached`, the second (from the period's start) at which
the current score was reached. From them the script computes each board's
composite score, total * M + (M - 1 - reached), which ranks higher totals first and,
among equal totals, the player who reached it first. The caller then writes the
composites to the boards (another slot each), which is safe to repeat.

KEYS[1] exam record    hash   fp, result, summary; expires after ARGV[2] seconds
KEYS[2] weekly stats   hash   <category>:<score|exams|questions|correct|reached>
KEYS[3] monthly stats  hash   likewise
KEYS[4] yearly stats   hash   likewise
KEYS[5] wallet         hash   resource -> balance
KEYS[6] ledger         stream the player's ledger
KEYS[7] outbox         stream the shard's entries awaiting persistence (ledger entries,
                              and one "state" entry naming the periods the exam changed)
KEYS[8] daily          hash   the player's counters for this game day
KEYS[9] streak         hash   last_day, streak, best
KEYS[10] season        hash   battle-pass xp and rewarded_level
KEYS[11] pace          string the player's state changes in the current second

ARGV[1] fingerprint     hash of the exam's content; a replay must carry the same one
ARGV[2] record ttl      seconds
ARGV[3] category
ARGV[4] score
ARGV[5] questions
ARGV[6] correct
ARGV[7..18] per period type, four values: seconds since the period started,
            expire-at (unix seconds, engine time) for its stats, multiplier M, largest
            total the composite can carry
ARGV[19] player id
ARGV[20] now           engine clock, ms
ARGV[21] max balance
ARGV[22] context (JSON) see include/progress.lua
ARGV[23] xp            battle-pass XP the exam itself gives
ARGV[24] periods       "weekly:<name>,monthly:<name>,yearly:<name>", for the outbox entry
ARGV[25] exam id       for the outbox entry

Returns {code, json}:
   0  counted:             result {"boards": six arrays (score, exams, questions, correct,
                           composite), "progress": {...}}
                           in the order weekly global, weekly category, monthly ..., yearly ...
   1  replay, answered:    the stored summary (JSON)
   2  replay, unanswered:  the stored result, for the caller to finish the boards
  -2  exam id reused with another content: {"fp"}
  -5  rapid fire: {"limit","count"}; nothing counted
]]

local record = KEYS[1]
local WALLET, LEDGER, OUTBOX = KEYS[5], KEYS[6], KEYS[7]
local DAILY, STREAK, SEASON, PACE = KEYS[8], KEYS[9], KEYS[10], KEYS[11]
local PLAYER, NOW, MAX_BALANCE = ARGV[19], ARGV[20], tonumber(ARGV[21])
local fingerprint, ttl, category = ARGV[1], ARGV[2], ARGV[3]
local score, questions, correct = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])

local seen = redis.call('HMGET', record, 'fp', 'summary', 'result')
if seen[1] then
  if seen[1] ~= fingerprint then
    return {-2, '{"fp":"' .. fingerprint .. '"}'}
  end
  if seen[2] then
    return {1, seen[2]}
  end
  return {2, seen[3]}
end

local CTX = cjson.decode(ARGV[22])

--- @include "wallet"
--- @include "progress"

local fast = too_fast()
if fast then
  return {-5, string.format('{"limit":%d,"count":%d}', CTX.pace_limit, fast)}
end

local boards = {}
for period = 1, 3 do
  local stats = KEYS[period + 1]
  local base = 7 + (period - 1) * 4
  local elapsed, expire_at = tonumber(ARGV[base]), ARGV[base + 1]
  local multiplier, cap = tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3])
  for _, board in ipairs({'global', category}) do
    local now = redis.call('HMGET', stats, board .. ':score', board .. ':exams',
      board .. ':questions', board .. ':correct', board .. ':reached')
    local total = tonumber(now[1] or '0') + score
    local exams = tonumber(now[2] or '0') + 1
    local asked = tonumber(now[3] or '0') + questions
    local right = tonumber(now[4] or '0') + correct
    local reached = tonumber(now[5] or elapsed)
    if score > 0 then
      reached = elapsed
    end
    redis.call('HSET', stats, board .. ':score', string.format('%d', total),
      board .. ':exams', exams, board .. ':questions', asked, board .. ':correct', right,
      board .. ':reached', reached)
    local composite = math.min(total, cap) * multiplier + (multiplier - 1 - reached)
    boards[#boards + 1] = string.format('[%d,%d,%d,%d,%d]', total, exams, asked, right, composite)
  end
  redis.call('EXPIRE', stats, tonumber(expire_at) - math.floor(tonumber(NOW) / 1000))
end

claim_bonus()
advance('solve_questions', correct)
advance('complete_exam', 1)
if correct == questions then
  advance('perfect_exam', 1)
end
add_xp(tonumber(ARGV[23]))

local season = ''
if CTX.season then
  season = CTX.season.id
end
redis.call('XADD', OUTBOX, '*', 'player', PLAYER, 'type', 'state', 'periods', ARGV[24],
  'season', season, 'at', NOW, 'exam', ARGV[25])

local result = '{"boards":[' .. table.concat(boards, ',') .. '],"progress":' .. finish_day() .. '}'
redis.call('HSET', record, 'fp', fingerprint, 'result', result)
redis.call('EXPIRE', record, ttl)
return {0, result}
