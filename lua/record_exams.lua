--[[ record_exams: count exam attempts into their players' aggregates, each exactly once,
with everything each earns: the day's login bonus if it is the player's first activity
of the game day, mission progress and rewards, battle-pass XP and level rewards (see
include/claim.lua and include/progress.lua), each balance change with its ledger entry.

KEYS: sixteen per exam (listed below). ARGV: nine shared values, then one per exam.
Returns two values per exam: a code and its JSON (listed below).

One call takes any number of exams whose players share one shard (one hash slot):
the context is decoded once and the script is invoked once for the whole group.

The player's stats hash holds one field per board: "<period>:<category>" (the period's
name, "global" or each category played), its value the exact sums
"score:exams:questions:correct:reached", where `reached` is the second (from the
period's start) at which the current score was reached: one field a board, so that an
exam's six boards are one HMGET and one HSET (engine.boards.Sums reads them), and one
hash for every period of the player (engine.boards.exam_stats). The player's first
exam of a period moves in the period's hash of the earlier layout (one hash a period),
if there is one, and drops the fields of periods past their retention (a period's name
is older than the oldest kept one of its type: names of one type have one length and
sort by time; the types' lengths differ, 8, 7 and 4). The hash expires with the longest
kept period it holds, set then too: a player who stops playing leaves it to expire. The
caller then writes each board's new totals to the board (update_board.lua, another slot
each), which places players in the order their totals arrive and is safe to repeat.

KEYS, sixteen per exam, in this order:
  1 exam record    string "<fp's first 32 digits>|r<result>" (engine.boards.exam_record),
                          then "|s<summary>" in the result's place; expires after
                          ARGV[3] seconds. A record of the earlier layout, a hash (fp,
                          result, summary), is read as well (it lives out its TTL)
  2 stats          hash   "<period>:<category>" -> "score:exams:questions:correct:reached"
  3 weekly stats   hash   the earlier layout: <category> -> the sums, the current week
                          only; moved into the 2nd and deleted by the player's first
                          exam of the period
  4 monthly stats  hash   likewise
  5 yearly stats   hash   likewise
  6 wallet         hash   resource -> balance
  7 ledger         stream the player's ledger
  8 outbox         stream the shard's entries awaiting persistence (ledger entries, an
                          "event" entry per mission completed and level reached, and
                          one "state" entry per exam naming the periods it changed
                          and the exam's fingerprint)
  9 daily          hash   the player's counters for this game day
  10 streak        hash   last_day, streak, best
  11 season        hash   battle-pass xp and rewarded_level
  12 pace          string the player's state changes in the current second
  13 rate          zset   the player's moving rate-limit window of the exams group
  14 settings      hash   the player's settings (time zone: include/zone.lua)
  15 daily         hash   the daily hash of another day some zone may be in now
  16 daily         hash   likewise (when there is one other day only, the 9th again)

ARGV[1] now           engine clock, ms
ARGV[2] max balance
ARGV[3] record ttl    seconds
ARGV[4] periods       per period type "elapsed:expire_at:name:oldest", comma-separated:
                      seconds since the period started, expire-at (unix s, engine time)
                      of its stats, its name, the name of the oldest period of its type
                      the rules keep
ARGV[5] period names  "weekly:<name>,monthly:<name>,yearly:<name>", for the outbox
ARGV[6] context       see include/context.lua; then the other days' (include/zone.lua)
ARGV[7] rewards (JSON) see include/context.lua; decoded only when something is paid;
                      then the other days', a line each
ARGV[8] ledger keep   entries each player's ledger stream keeps at least
ARGV[9] pace          "1": each exam is a state change of its player's pace (rapid fire,
                      include/progress.lua's too_fast), sent as the player plays; "0":
                      not judged nor counted, a game server's batch delivering exams
                      already played (their arrival says nothing of the player's pace)
ARGV[10..] one per exam, its eight values joined by "|": fingerprint, player id, exam id,
          category, score, questions, correct answers, battle-pass XP the exam gives
          (none of them contains "|": ids are [A-Za-z0-9_.:-], the rest hex or digits)

Returns two values per exam, {code, json}, its code a CODE_<NAME> (include/codes.lua,
engine.outcomes):
  APPLIED       counted: result {"boards": six arrays (score, exams, questions, correct,
                reached), "progress": {...}}
                in the order weekly global, weekly category, monthly ..., yearly ...
  REPLAYED      replay, answered: the stored summary (JSON)
  UNANSWERED    replay, unanswered: the stored result, for the caller to finish the boards
  KEY_REUSED    exam id reused with another content: {"fp"}
  RAPID_FIRE    {"limit","count"}; nothing counted
  RATE_LIMITED  {"limit","scope","group","retry_after"}; nothing counted
A replay (REPLAYED, UNANSWERED, KEY_REUSED) is answered before the rate limit and the
pace are looked at: copies of an exam sent by a retrying client are never counted
against the player.
]]

--- @include "codes"
--- @include "ledger"
--- @include "wallet"
--- @include "rate"
--- @include "context"
--- @include "progress"
--- @include "claim"
--- @include "zone"

local now, max_balance, ttl = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local now_s = math.floor(tonumber(now) / 1000)
local period_names = ARGV[5]

-- The text before the first line break, or all of it: a plain find (the pattern
-- '^[^\n]*' cost about 30,000 instructions over a rewards line, callgrind).
local function first_line(text)
  local cut = string.find(text, '\n', 1, true)
  return cut and string.sub(text, 1, cut - 1) or text
end

-- the game day's context: what every player without a time zone of their own shares
local context = parse_context(first_line(ARGV[6]), first_line(ARGV[7]))
local ledger_keep = ARGV[8]
local judge_pace = ARGV[9] == '1'

-- What every exam needs of the three periods, in one anchored match: the seconds since
-- each started and its fields' prefix ("<name>:"). A gmatch of all four values of each
-- cost about 28,000 more instructions a call (callgrind); the rest is read by
-- retention(), at a period's first exam.
local ELAPSED, PREFIXES
do
  local e1, n1, e2, n2, e3, n3 = string.match(ARGV[4],
    '^(%d+):%d+:([^:,]+):[^:,]+,(%d+):%d+:([^:,]+):[^:,]+,(%d+):%d+:([^:,]+):')
  ELAPSED = {e1 + 0, e2 + 0, e3 + 0}  -- + 0: tonumber without its call
  PREFIXES = {n1 .. ':', n2 .. ':', n3 .. ':'}
end

-- The oldest period name the rules keep of each type, and the stats hash's expiry (the
-- longest kept period's): read once a call, when first asked for.
local kept_oldest, kept_until = false, 0
local function retention()
  if not kept_oldest then
    kept_oldest = {}
    for _, expire_at, _, oldest in string.gmatch(ARGV[4], '(%d+):(%d+):([^:,]+):([^:,]+)') do
      kept_oldest[#kept_oldest + 1] = oldest
      kept_until = math.max(kept_until, tonumber(expire_at))
    end
  end
  return kept_oldest, kept_until
end

-- The player's first exam of a period: the period's hash of the earlier layout moved
-- in (then deleted), and the fields of periods past their retention dropped. Answers
-- the period's {global, category} sums as the hash now holds them.
local function open_period(stats, earlier, prefix, category)
  local flat = redis.call('HGETALL', earlier)
  local found = {}
  if #flat > 0 then
    local moved = {}
    for i = 1, #flat, 2 do
      moved[#moved + 1] = prefix .. flat[i]
      moved[#moved + 1] = flat[i + 1]
      found[flat[i]] = flat[i + 1]
    end
    redis.call('HSET', stats, unpack(moved))
    redis.call('DEL', earlier)
  end
  local stale, kept = {}, retention()
  for _, field in ipairs(redis.call('HKEYS', stats)) do
    local name = string.match(field, '^[^:]+')
    for _, oldest in ipairs(kept) do
      if #name == #oldest and name < oldest then
        stale[#stale + 1] = field
      end
    end
  end
  if #stale > 0 then
    redis.call('HDEL', stats, unpack(stale))
  end
  return {found['global'], found[category]}
end

local season_id = ''
if context.season then
  season_id = context.season.id
end

-- The exam's record as {fp, summary, result} (nil where absent). The record is one
-- string: the fingerprint's first 32 digits, then "|r" and the step-1 result until the
-- summary takes its place as "|s" and the summary. A record the summary created alone
-- (its step 1 expired first) has no fingerprint and counts as no record. A hash is a
-- record of the earlier layout (GET answers WRONGTYPE).
local function read_record(record)
  local stored = redis.pcall('GET', record)
  if type(stored) == 'table' then
    return redis.call('HMGET', record, 'fp', 'summary', 'result')
  end
  if not stored then
    return {}
  end
  local bar = string.find(stored, '|', 1, true)
  if bar == 1 then
    return {}
  end
  local fp, payload = string.sub(stored, 1, bar - 1), string.sub(stored, bar + 2)
  if string.byte(stored, bar + 1) == 115 then  -- "s"
    return {fp, payload}
  end
  return {fp, nil, payload}
end

local function count(k, packed)
  local record = KEYS[k]
  local fingerprint, player, exam_id, category, score, questions, correct, xp =
    string.match(packed, '^([^|]+)|([^|]+)|([^|]+)|([^|]+)|(%d+)|(%d+)|(%d+)|(%d+)$')
  -- digits as numbers, `+ 0` as tonumber without its call (see the sums below)
  score, questions, correct, xp = score + 0, questions + 0, correct + 0, xp + 0

  -- The record keeps the fingerprint's first 32 hex digits (128 bits), enough to tell
  -- a copy of the exam from another result under its id (a hash of the earlier layout
  -- keeps all 64).
  local claim = string.sub(fingerprint, 1, 32)
  local seen = read_record(record)
  if seen[1] then
    if string.sub(seen[1], 1, 32) ~= claim then
      return CODE_KEY_REUSED, '{"fp":"' .. fingerprint .. '"}'
    end
    if seen[2] then
      return CODE_REPLAYED, seen[2]
    end
    return CODE_UNANSWERED, seen[3]
  end

  local outbox = KEYS[k + 7]
  local wallet = new_wallet(KEYS[k + 5], KEYS[k + 6], outbox, player, now, max_balance,
    ledger_keep)
  local own, own_rewards, daily, zone = player_day(KEYS[k + 13], now, ARGV[6], ARGV[7],
    {KEYS[k + 8], KEYS[k + 14], KEYS[k + 15]})
  local day = new_day(zone and parse_context(own, own_rewards) or context, wallet, daily,
    KEYS[k + 9], KEYS[k + 10], KEYS[k + 11], KEYS[k + 12], now)
  day.zone = zone

  local limited = over_rate(day, 'exams', exam_id)
  if limited then
    return CODE_RATE_LIMITED, limited
  end

  local fast = judge_pace and too_fast(day)
  if fast then
    return CODE_RAPID_FIRE, string.format('{"limit":%d,"count":%d}', context.pace_limit, fast)
  end

  -- The six boards (global and the category of each period) in one read and one write:
  -- fields[b] is board b's field, in the order of the answer's boards.
  local stats, opened = KEYS[k + 1], false
  local fields = {}
  for period = 1, 3 do
    local prefix = PREFIXES[period]
    fields[2 * period - 1], fields[2 * period] = prefix .. 'global', prefix .. category
  end
  local sums = redis.call('HMGET', stats, unpack(fields))
  for period = 1, 3 do
    if not sums[2 * period - 1] then  -- every exam counts into 'global': its first exam
      -- Opening a period writes and drops only its own fields and those of periods
      -- past their retention, never another current period's: the sums read stand.
      local found = open_period(stats, KEYS[k + 1 + period], PREFIXES[period], category)
      sums[2 * period - 1], sums[2 * period], opened = found[1], found[2], true
    end
  end
  local boards, written = {}, {}  -- each board's text, and the HSET's fields and values
  for b = 1, 6 do
    local total, exams, asked, right, reached = score, 1, questions, correct,
      ELAPSED[math.floor((b + 1) / 2)]
    if sums[b] then
      -- The sums' digits added as strings: the arithmetic converts them as tonumber
      -- does, without its call (about 900 instructions a number, callgrind).
      local t, e, q, c, r = string.match(sums[b], '^(%d+):(%d+):(%d+):(%d+):(%d+)$')
      total, exams, asked, right = total + t, exams + e, asked + q, right + c
      if score == 0 then
        reached = r + 0
      end
    end
    local text = string.format('%d:%d:%d:%d:%d', total, exams, asked, right, reached)
    written[2 * b - 1], written[2 * b] = fields[b], text
    boards[b] = text
  end
  -- The answer's six arrays of the same five numbers: one gsub of the six texts is
  -- cheaper than a second format of each.
  local boards_json = '[[' .. string.gsub(table.concat(boards, '],['), ':', ',') .. ']]'
  redis.call('HSET', stats, unpack(written))
  if opened then  -- it lives as long as the longest period it holds is kept
    local _, expire_at = retention()
    redis.call('EXPIRE', stats, expire_at - now_s)
  end

  -- What the day's hash tells this exam, read in one HMGET when first asked for: the
  -- bonus claim and the done flags of the missions of the exam's events.
  local more = {}
  for _, mission in ipairs(context_missions(day.context)) do
    if mission.event == 'complete_exam'
        or (mission.event == 'perfect_exam' and correct == questions) then
      more[#more + 1] = 'mission:' .. mission.id .. ':done'
    end
  end
  plan_daily(day, 'solve_questions', more)
  claim_bonus(day)
  advance(day, 'solve_questions', correct)
  advance(day, 'complete_exam', 1)
  if correct == questions then
    advance(day, 'perfect_exam', 1)
  end
  add_xp(day, xp)

  redis.call('XADD', outbox, '*', 'player', player, 'type', 'state', 'periods', period_names,
    'season', season_id, 'at', now, 'exam', exam_id, 'fp', fingerprint)

  local result = '{"boards":' .. boards_json .. ',"progress":'
    .. finish_day(day) .. '}'
  redis.call('SET', record, claim .. '|r' .. result, 'EX', ttl)
  return CODE_APPLIED, result
end

local replies = {}
for i = 0, #ARGV - 10 do
  local code, payload = count(i * 16 + 1, ARGV[10 + i])
  replies[#replies + 1] = code
  replies[#replies + 1] = payload
end
return replies
