--[[ include progress: the daily bonus, missions and battle-pass XP of one player event.

Needs: codes, wallet, rate.
Reads no KEYS, no ARGV and no local of the including script: everything comes in
through the parameters below.

parse_context(text, rewards_json) returns the context shared by every player of the
call: day (ordinal), day_name, daily_expire_at (unix s), pace_limit, season {id,
xp_per_level} (false: no season), freeze_max_held (0: no streak freezes), and what
rewards pay. The rest is read from the text when first asked for, since most events
need one rate and one event's missions: context_missions(context) [{id, event,
target}], context_rate(context, group) {count, window, text} or nil (a per-player rate
limit, window in ms as its decimal digits, text as in the rules: "10/minute"),
freeze_days(context) (the names of the game days a streak freeze may stand for,
yesterday first: as many as one gap may bridge), repair_deadlines(context) (nil: no streak repair; else the repair
deadlines, ms, of a streak lost at the start of yesterday and of today, and the window,
ms). The text is
"day|day_name|expire_at|pace_limit|season id|xp per level|missions|rates|max held|days|
repair by" with missions "id:event:target;...", rates "group:count:window_ms:text;...",
days "2026-11-24,2026-11-23" and repair by "1795600000000,1795686400000,86400000" (the last
three may be left out): read with string patterns, no JSON decoding. rewards_json (bonus {normal, milestone, every}, missions
{id: {xp, reward}}, levels {"<level>": reward}, caps {kind: {resource: amount}}, the
daily earning caps) is decoded on first use, once per call, from its first line: what
follows is other days' (include/zone.lua).

new_day(context, wallet, daily_key, streak_key, season_key, pace_key, rate_key, now)
returns one player's day: the context, the player's wallet (include wallet), the keys
of their hash for this game day (bonus, ads, mission:<id>, ...), their streak hash
(last_day, streak, best), their battle-pass hash for the current season (xp,
rewarded_level), their count of state changes in the current second, their moving
rate-limit window of the event's route group, and the engine clock (ms, as a string).
A claim that finds the streak broken notes the break in the streak hash for streak
repair (lost, repair_by: see broken_fields; lua/repair_streak.lua buys it back).
Every other function takes the day first.

Streak freezes are the wallet resource `streak_freeze` (FREEZE below). claim_bonus
uses them when the day's claim follows missed game days: one a missed day, each its own
ledger entry, only if those held cover the whole gap and the gap is at most
#freeze_days; else the streak restarts at 1 and none is used. progress.freezes_used
says how many (set when any were). freeze_refusal(day, changes) refuses a change that
would hold more than freeze_max_held at any step of the call (a claim that uses the
freezes held comes before the change); brings_freezes(day, changes) tells a purchase of freezes the claim needs (those
held do not bridge the missed days, with those bought they do), which the caller
applies before claim_bonus (a freeze bought the day after a missed day bridges it).

A player with a time zone: the caller sets day.zone (include/zone.lua's player_day) on
the day of their local date; claim_bonus then follows their own day (see there) and
progress.claim_ends tells when they may claim next (unix s); day_claimed(day) says
whether they may not yet. finish_day keeps the day's hash at least to the end of their
local date in their current zone plus the grace (see keep_daily).

The fields of the day's hash a call reads (the bonus claim, missions' done flags, earned
amounts under the caps) come from daily_field: one HMGET of the fields plan_daily named
when the first is asked for, one HGET of a field not named.

Provides parse_context, context_missions, event_missions(context, event) (one event's
missions), context_rate, freeze_days, freeze_refusal(day, changes),
brings_freezes(day, changes),
repair_deadlines, new_day, plan_daily(day, event, more), daily_field(day, name),
daily_write(day, name, value), over_rate(day, group, member), too_fast(day),
pay_reward(day, reward, kind, reason, ref), claim_bonus(day), day_claimed(day),
claim_waits(day),
early_login_due(day, last), advance(day, event,
amount), add_xp(day, amount), finish_day(day), and day.progress, the table that tells
the caller what happened, including `violations` of the earning caps.
]]

local function parse_context(text, rewards_json)
  local day, day_name, expire_at, pace, season, per_level, list, rates, max_held, days,
    repair_by = string.match(text,
      '^(%d+)|([^|]+)|(%d+)|(%d+)|([^|]*)|(%d*)|([^|]*)|([^|]*)|?(%d*)|?([^|]*)|?(.*)$')
  -- missions, freeze_days and repair_by are false until first used (context_missions,
  -- freeze_days, repair_deadlines) and rates are looked up by group (context_rate): most
  -- calls need one rate and the missions of one event. Every field is in the
  -- constructor, so the table never grows.
  -- `+ 0`: the digits as tonumber reads them, without its call (about 900 instructions
  -- each, callgrind); the fields that may be empty keep tonumber
  local parsed = {day = day + 0, day_name = day_name,
    daily_expire_at = expire_at + 0, pace_limit = pace + 0, missions = false,
    event_missions = false, missions_event = false, missions_text = list, rates_text = rates, season = false, rewards_json = rewards_json,
    rewards = false, freeze_max_held = tonumber(max_held) or 0, freeze_days = false,
    days_text = days, repair_by = false, repair_text = repair_by}
  if season ~= '' then
    parsed.season = {id = season, xp_per_level = tonumber(per_level)}
  end
  return parsed
end

local function context_missions(context)
  local missions = context.missions
  if not missions then
    missions = {}
    for id, event, target in string.gmatch(context.missions_text, '([^:;]+):([^:;]+):(%d+)') do
      missions[#missions + 1] = {id = id, event = event, target = target + 0}
    end
    context.missions = missions
  end
  return missions
end

-- The missions of `event`, as context_missions lists them, in order: while no call has
-- parsed them all, found by one pattern led by the ';' before each entry (parsing a
-- day's three missions cost about 24,000 instructions, a pattern led by the id's
-- class 25,000 more: it is tried at every character, callgrind). The last event's
-- list is kept. An event name of other characters than letters, digits and '_' takes
-- the full list.
local function event_missions(context, event)
  if context.missions_event == event then
    return context.event_missions
  end
  local found = {}
  if context.missions or string.find(event, '[^%w_]') then
    for _, mission in ipairs(context_missions(context)) do
      if mission.event == event then
        found[#found + 1] = mission
      end
    end
  else
    for id, target in string.gmatch(';' .. context.missions_text,
        ';([^:;]+):' .. event .. ':(%d+)') do
      found[#found + 1] = {id = id, event = event, target = target + 0}
    end
  end
  context.event_missions, context.missions_event = found, event
  return found
end

-- The rate limit of `group` {count, window, text}, or nil: the first entry named
-- `group` found with a plain find (a gmatch over every entry cost about 30,000
-- instructions a call, callgrind).
local function context_rate(context, group)
  local rates, name = context.rates_text, group .. ':'
  local at = 1
  while true do
    local first, last = string.find(rates, name, at, true)
    if not first then
      return nil
    end
    if first == 1 or string.byte(rates, first - 1) == 59 then  -- an entry's start (";")
      local count, window, limit = string.match(rates, '^(%d+):(%d+):([^:;]+)', last + 1)
      if count then
        return {count = count + 0, window = window, text = limit}
      end
    end
    at = last + 1
  end
end

local function freeze_days(context)
  local names = context.freeze_days
  if not names then
    names = {}
    for name in string.gmatch(context.days_text, '[^,]+') do
      names[#names + 1] = name
    end
    context.freeze_days = names
  end
  return names
end

-- The repair deadlines {[yesterday] = ms, [today] = ms, window = ms}, or nil.
local function repair_deadlines(context)
  local deadlines = context.repair_by
  if deadlines == false then
    local yesterday_by, today_by, window = string.match(context.repair_text,
      '^(%d+),(%d+),(%d+)$')
    deadlines = yesterday_by and {[context.day - 1] = yesterday_by,
      [context.day] = today_by, window = tonumber(window)} or nil
    context.repair_by = deadlines or 0
  end
  return deadlines ~= 0 and deadlines or nil
end

local function rewards(context)  -- most events pay nothing: decode only when paying
  local decoded = context.rewards
  if not decoded then
    local json = context.rewards_json
    local cut = string.find(json, '\n', 1, true)  -- its first line (include/zone.lua)
    if cut then
      json = string.sub(json, 1, cut - 1)
    end
    decoded = cjson.decode(json)
    context.rewards = decoded
  end
  return decoded
end

local function new_day(context, wallet, daily_key, streak_key, season_key, pace_key,
    rate_key, now)
  return {context = context, wallet = wallet, daily = daily_key, streak = streak_key,
    season = season_key, pace = pace_key, rate = rate_key, now = now, created = false,
    zone = false, claim = false, fields = {}, planned = false,
    progress = {missions = {}, level_rewards = {}, violations = {}}}
end

-- The fields of the player's daily hash a call will read, read together in one HMGET
-- when the first of them is asked for (daily_field): the day's bonus claim, the done
-- flags of the missions of `event` ("" for none) and `more` (other field names). A
-- call refused before it reads any (a rate limit, rapid fire) reads none.
local function plan_daily(day, event, more)
  local names = {'bonus'}
  for _, mission in ipairs(event_missions(day.context, event)) do
    names[#names + 1] = 'mission:' .. mission.id .. ':done'
  end
  for _, name in ipairs(more) do
    names[#names + 1] = name
  end
  day.planned = names
end

-- A field of the player's daily hash (false when absent): as this call read it (with
-- the fields plan_daily named, on the first ask) or wrote it since (daily_write).
local function daily_field(day, name)
  local fields = day.fields
  local value = fields[name]
  if value ~= nil then
    return value
  end
  local names = day.planned or {}
  day.planned = false
  local planned = false
  for i = 1, #names do
    if names[i] == name then
      planned = true
      break
    end
  end
  if not planned then  -- each field once: a reply element less (the bonus is planned)
    names[#names + 1] = name
  end
  local values = redis.call('HMGET', day.daily, unpack(names))
  for i, field in ipairs(names) do
    fields[field] = values[i]  -- false: not in the hash
  end
  return fields[name]
end

-- Note a value this call wrote to the daily hash, so daily_field answers it.
local function daily_write(day, name, value)
  day.fields[name] = value
end

-- The player's rate limit of the route group: count this attempted change in its moving
-- window. Called after the replay and no-op checks, so only attempted changes count.
-- Returns false, or the refusal's JSON (limit, scope, group, retry_after in seconds).
local function over_rate(day, group, member)
  local rate = context_rate(day.context, group)
  if not rate then
    return false
  end
  local now = day.now
  local taken, wait = take_slot(day.rate, now, rate.count, rate.window,
    now .. ':' .. member)  -- decimal strings: no %.17g of each (include/rate.lua)
  if taken then
    return false
  end
  return string.format(
    '{"limit":"%s","scope":"player","group":"%s","retry_after":%d}',
    rate.text, group, math.max(1, math.ceil(wait / 1000)))
end

-- Rapid fire: count this state change in the current second; the count when over the
-- limit, else false. The second's first change creates the count with its expiry in
-- one command (most players change their state once in a second, if at all).
local function too_fast(day)
  local pace = day.pace
  local count = 1
  if not redis.call('SET', pace, '1', 'EX', '2', 'NX') then  -- strings: no %.17g each
    count = redis.call('INCR', pace)
  end
  if count > day.context.pace_limit then
    return count
  end
  return false
end

-- Pay a reward within the day's earning cap for its kind; what the cap cuts is a violation.
local function pay_reward(day, reward, kind, reason, ref)
  local caps = rewards(day.context).caps[kind]
  local allowed = {}
  for resource, amount in pairs(reward) do
    local pay = amount
    local cap = caps and caps[resource]
    if cap then
      local field = 'earned:' .. kind .. ':' .. resource
      local earned = tonumber(daily_field(day, field) or '0')
      pay = math.max(0, math.min(amount, cap - earned))
      if pay < amount then
        table.insert(day.progress.violations, {rule = 'daily_earning_cap', kind = kind,
          resource = resource, cap = cap, earned = earned, refused = amount - pay})
      end
      if pay > 0 then
        daily_write(day, field, redis.call('HINCRBY', day.daily, field, pay))
      end
    end
    if pay > 0 then
      allowed[resource] = pay
    end
  end
  return wallet_reward(day.wallet, allowed, kind, reason, ref)
end

-- A mission completed or a level reached is an event whatever it paid (a daily cap may
-- cut its reward to nothing, a level may have none): its own outbox entry, which the
-- persist job turns into the webhook event only (no ledger row, no balance change).
-- `tx` and `paid` (deltas JSON) are what pay_reward returned: nil when nothing was paid.
local function record_event(day, event, ref, reason, tx, paid)
  local wallet = day.wallet
  redis.call('XADD', wallet.outbox, '*', 'player', wallet.player, 'type', 'event', 'event',
    event, 'ref', ref, 'reason', reason, 'tx', tx or '', 'paid', paid or '{}', 'balances',
    balances_json(wallet), 'at', day.now)
end

local function add_xp(day, amount)
  local season = day.context.season
  if not season or amount <= 0 then
    return
  end
  local progress = day.progress
  local xp = redis.call('HINCRBY', day.season, 'xp', amount)
  local level = math.floor(xp / season.xp_per_level) + 1
  local rewarded = 1  -- level 1 is never rewarded: nothing to read below level 2
  if level > 1 then
    rewarded = tonumber(redis.call('HGET', day.season, 'rewarded_level') or '1')
  end
  local gained = progress.xp or {season = season.id, gained = 0, levels_gained = {}}
  gained.gained = gained.gained + amount
  gained.total = xp
  gained.level = level
  progress.xp = gained
  if level > rewarded then
    for reached = rewarded + 1, level do
      table.insert(gained.levels_gained, reached)
      local reward = rewards(day.context).levels[tostring(reached)]
      local reason = 'battle pass level ' .. reached
      local ref = 'level/' .. season.id .. '/' .. reached
      local tx, paid
      if reward then
        tx, paid = pay_reward(day, reward, 'level_reward', reason, ref)
        table.insert(progress.level_rewards,  -- what was paid: a cap may cut the reward
          {level = reached, reward = paid and cjson.decode(paid) or {}, transaction_id = tx})
      end
      record_event(day, 'battle_pass.level_reached', ref, reason, tx, paid)
    end
    redis.call('HSET', day.season, 'rewarded_level', level)
  end
end

-- An event counts `amount` in the day's missions of `event`; one that counts nothing
-- (an exam without a right answer: 0 solved) still completes a mission whose count has
-- reached its target, which the rules may have lowered since the count was made.
local function advance(day, event, amount)
  if amount < 0 then
    return
  end
  local context, daily = day.context, day.daily
  for _, mission in ipairs(event_missions(context, event)) do
    local field = 'mission:' .. mission.id
    local value = false  -- stays false: done (paid once) or nothing to report
    if not daily_field(day, field .. ':done') then
      if amount > 0 then
        value = redis.call('HINCRBY', daily, field, amount)
      else
        value = tonumber(daily_field(day, field) or '0')
        value = value >= mission.target and value
      end
    end
    if value then
      local entry = {id = mission.id, progress = math.min(value, mission.target),
        target = mission.target, completed = false}
      if value >= mission.target then
        local paid = rewards(context).missions[mission.id]
        redis.call('HSET', daily, field .. ':done', day.now)
        daily_write(day, field .. ':done', day.now)
        entry.completed = true
        entry.xp = paid.xp
        local reason = 'mission ' .. mission.id
        local ref = 'mission/' .. context.day_name .. '/' .. mission.id
        local tx, deltas = pay_reward(day, paid.reward, 'mission_reward', reason, ref)
        entry.reward = deltas and cjson.decode(deltas) or {}  -- what was paid (capped?)
        entry.transaction_id = tx
        record_event(day, 'mission.completed', ref, reason, tx, deltas)
        add_xp(day, paid.xp)
      end
      table.insert(day.progress.missions, entry)
    end
  end
end

local FREEZE = 'streak_freeze'

-- Whether `held` freezes bridge the `missed` game days before today: they cover them
-- all and the rules let one gap be that long.
local function bridges(day, missed, held)
  return missed <= #freeze_days(day.context) and held >= missed
end

-- Bridge the `missed` game days before today with the freezes held if they can
-- (bridges): one ledger entry a freeze, the oldest missed day first. Returns whether
-- the gap is bridged.
local function use_freezes(day, missed)
  local wallet = day.wallet
  load_wallet(wallet)
  if not bridges(day, missed, balance(wallet, FREEZE)) then
    return false
  end
  local names = freeze_days(day.context)
  for back = missed, 1, -1 do
    wallet_apply(wallet, {FREEZE, -1}, 'streak_freeze', 'streak freeze for ' .. names[back],
      'freeze/' .. names[back])
  end
  day.progress.freezes_used = missed
  return true
end

-- A streak of `lost` days, last claimed on `last_day`, is found broken today: with streak
-- repair, the fields that note the break (lost, repair_by) when it may still be bought
-- back, else none (an older break's are dropped). It was lost at the start of the day
-- after the last one that could have continued it: the day after last_day, plus the
-- missed days the freezes held could have bridged. For a player with a time zone, that
-- day starts as their zone says (day.zone).
local function broken_fields(day, last_day, lost)
  local context = day.context
  local deadlines = repair_deadlines(context)
  if not deadlines or last_day < 0 then
    return nil
  end
  load_wallet(day.wallet)
  local bridged = math.min(balance(day.wallet, FREEZE), #freeze_days(context))
  local by = deadlines[last_day + 2 + bridged]
  if day.zone then
    by = day.zone.start(last_day + 2 + bridged) * 1000 + deadlines.window
  end
  if by and tonumber(by) > tonumber(day.now) then
    return {'lost', lost, 'repair_by', by}
  end
  return nil
end

local NEVER = 0  -- a time long past: no claim waits for it

-- The streak hash's last_day, streak, best, claim_ends, streak_ends and claimed_on.
local function claim_state(day)
  return redis.call('HMGET', day.streak, 'last_day', 'streak', 'best', 'claim_ends',
    'streak_ends', 'claimed_on')
end

-- When a player with a time zone may claim next (unix s): once the day of their last
-- claim has ended in the zone it was claimed in (claim_ends; for a claim made by the
-- game calendar, the end of that game day when it is one of the call's days, any older
-- one has ended), and on a later date than the last one claimed, or a day after that
-- end at the latest (a move west of more than a day's hours).
local function next_claim(day, last)
  local zone, last_day = day.zone, tonumber(last[1] or '-1')
  local ends = tonumber(last[4] or '') or zone.game_ends[last_day] or NEVER
  if last_day < 0 or zone.day > last_day then
    return ends
  end
  return math.max(ends, math.min(zone.start(last_day + 1), ends + 86400))
end

-- Whether the day of a player with a time zone is claimed: now is before next_claim,
-- which progress.claim_ends then tells. `last` is claim_state's, or nil.
local function day_claimed(day, last)
  last = last or claim_state(day)
  day.claim = last  -- finish_day's keep_daily reads when the claimed day ends
  local at = next_claim(day, last)
  if tonumber(day.now) < at * 1000 then
    day.progress.claim_ends = at
    return true
  end
  return false
end

-- Whether this call counts the login of a date claimed before it began: after a move
-- west of more than a day a claim counts for the next date but is written in the hash of
-- the date before it (claimed_on), so that date's own first activity counts its login
-- once (the bonus field marks it, as a claim does). `last` is claim_state's.
local function early_login_due(day, last)
  local zone = day.zone
  return zone and tonumber(last[1] or '') == zone.day and last[6]
    and tonumber(last[6]) ~= zone.day and not daily_field(day, 'bonus')
end

-- Whether a player on the game calendar waits to claim: their last claim, made in a
-- zone they have left since, is of an earlier date and its day has not ended in that
-- zone (claim_ends; one of this date or later is a claim of this day: claim_bonus).
-- progress.claim_ends then says when it ends. The claim state read is kept in day.claim
-- for claim_bonus.
local function claim_waits(day)
  local last = day.claim or claim_state(day)
  day.claim = last
  if last[4] and tonumber(last[1]) < day.context.day
      and tonumber(day.now) < tonumber(last[4]) * 1000 then
    day.progress.claim_ends = tonumber(last[4])
    return true
  end
  return false
end

-- The game days before today the streak's claim must bridge with freezes to go on: 0
-- when it goes on without them (the last claim was yesterday or later, or a move east
-- keeps it: streak_ends) or when there is no claim before. `last` is claim_state's.
local function missed_days(day, last)
  local last_day = tonumber(last[1] or '-1')
  local missed = day.context.day - last_day - 1
  if last_day < 0 or missed < 0
      or (last[5] and tonumber(day.now) < tonumber(last[5]) * 1000) then
    missed = 0
  end
  return missed
end

-- Whether this call's claim_bonus claims the day's bonus, found without a write, and the
-- claim state read to tell it (nil when the day's bonus field tells).
local function claim_due(day)
  if day.zone then
    local last = claim_state(day)
    return not day_claimed(day, last), last
  end
  if daily_field(day, 'bonus') then
    return false
  end
  local last = claim_state(day)
  local last_day = tonumber(last[1] or '-1')
  return not (last_day >= day.context.day
    or (last[4] and tonumber(day.now) < tonumber(last[4]) * 1000)), last
end

-- The streak freezes `changes` (resource, delta, ...) bring, 0 for none.
local function freezes_brought(changes)
  local brought = 0
  for i = 1, #changes, 2 do
    if changes[i] == FREEZE and tonumber(changes[i + 1]) > 0 then
      brought = brought + tonumber(changes[i + 1])
    end
  end
  return brought
end

-- The game days this call's claim must bridge with freezes (missed_days; 0 when it
-- claims nothing).
local function claim_missed(day)
  local due, last = claim_due(day)
  return due and missed_days(day, last) or 0
end

-- Whether `changes` bring streak freezes this call's claim needs: those held do not
-- bridge the game days it must, those held and bought do. The caller then applies the
-- change before claim_bonus, so that a freeze bought the day after a missed day
-- bridges it.
local function brings_freezes(day, changes)
  local bought = freezes_brought(changes)
  if bought == 0 then
    return false
  end
  local missed = claim_missed(day)
  load_wallet(day.wallet)
  local held = balance(day.wallet, FREEZE)
  return missed > 0 and not bridges(day, missed, held) and bridges(day, missed, held + bought)
end

-- Streak freezes: nil when `changes` keep the freezes held within the rules' most at
-- every step of the call, else CODE_BALANCE_LIMIT and its details. When the freezes
-- held bridge the days the claim must, it uses them before the change comes; else the
-- change comes first (brings_freezes) and holds them all.
local function freeze_refusal(day, changes)
  local bought = freezes_brought(changes)
  if bought == 0 then
    return nil
  end
  local most = day.context.freeze_max_held
  load_wallet(day.wallet)
  local current = balance(day.wallet, FREEZE)
  local held = current + bought
  if held > most then
    local missed = claim_missed(day)
    if missed > 0 and bridges(day, missed, current) then
      held = held - missed
    end
  end
  if held > most then
    return CODE_BALANCE_LIMIT, string.format('"resource":"%s","limit":%d,"balance":%d',
      FREEZE, most, current)
  end
  return nil
end

-- The first activity of a game day claims the login bonus; returns whether this one did.
-- A player with a time zone (day.zone, include/zone.lua) claims once next_claim has
-- come, for their local date (the date after the last one claimed, if that is later);
-- their streak goes on when that is at most the day after the last claimed one, or
-- when the claim comes before the end of the day after it in the zone it was claimed
-- in (streak_ends, so a move east loses nothing); else freezes bridge the local days
-- missed. The claim keeps when the claimed day ends (claim_ends) and the next one.
local function claim_bonus(day)
  local zone = day.zone
  local last = zone and claim_state(day)
  if zone then
    if day_claimed(day, last) then
      if early_login_due(day, last) then  -- no bonus: the claim paid it; keep_daily its life
        redis.call('HSET', day.daily, 'bonus', day.now)
        daily_write(day, 'bonus', day.now)
        advance(day, 'login', 1)
      end
      return false
    end
  elseif daily_field(day, 'bonus') then
    return false  -- claimed: most events of a day only read the field
  elseif claim_waits(day) then
    day.created = true  -- nothing marked: the day is claimed once the wait is over
    return false
  end
  redis.call('HSET', day.daily, 'bonus', day.now)
  daily_write(day, 'bonus', day.now)
  day.created = true  -- the day's first activity creates the day's hash
  local context, streak_key = day.context, day.streak
  last = last or day.claim
  local last_day = tonumber(last[1] or '-1')
  if not zone and last_day >= context.day then
    if last_day == context.day and last[6] and tonumber(last[6]) ~= last_day then
      advance(day, 'login', 1)  -- claimed early in a zone: this date's login, once
    end
    return false  -- already claimed for this day (or the clock was moved back)
  end
  local claimed = context.day
  if zone and last_day >= claimed then
    claimed = last_day + 1  -- moved west: the date after the last one claimed
  end
  local streak = 1
  local missed = missed_days(day, last)
  if last_day >= 0 and (missed == 0 or use_freezes(day, missed)) then
    streak = tonumber(last[2]) + 1
  else
    local broken = broken_fields(day, last_day, tonumber(last[2] or '0'))
    if broken then
      redis.call('HSET', streak_key, unpack(broken))
    elseif repair_deadlines(context) then
      redis.call('HDEL', streak_key, 'lost', 'repair_by')
    end
  end
  redis.call('HSET', streak_key, 'last_day', claimed, 'streak', streak,
    'best', math.max(streak, tonumber(last[3] or '0')))
  if zone then
    day.progress.claim_ends = zone.start(claimed + 1)
    -- claimed_on: the local date whose hash the claim wrote (the one before `claimed`
    -- after a move west of more than a day), which keep_daily trusts the claim for
    redis.call('HSET', streak_key, 'claim_ends', day.progress.claim_ends, 'streak_ends',
      zone.start(claimed + 2), 'claimed_on', zone.day)
  elseif last[4] then  -- claimed by the game calendar: the zone's instants no longer hold
    redis.call('HDEL', streak_key, 'claim_ends', 'streak_ends', 'claimed_on')
  end
  local bonus = rewards(context).bonus
  local reward = bonus.normal
  if streak % bonus.every == 0 then
    reward = bonus.milestone
  end
  local tx, paid = pay_reward(day, reward, 'login_bonus', 'daily login, streak day ' .. streak,
    'bonus/' .. context.day_name)
  -- the answer says what was paid: a daily earning cap or the balance limit may cut it
  day.progress.daily_bonus = {streak = streak, reward = paid and cjson.decode(paid) or {},
    transaction_id = tx}
  advance(day, 'login', 1)
  return true
end

-- A player with a time zone keeps the day's hash, which an earlier call created, at
-- least to the end of their local day in their current zone plus the grace: a move
-- west onto a date already played goes on with its counts until the date ends there.
-- Never shortened: after a move east the date may still run where the player goes
-- back to. The hash lives as its date's claim set it: when the claim state (read for
-- day_claimed) is of this date and was written in this date's hash (claimed_on; a
-- claim by the game calendar always is), to the claim's end in its zone (claim_ends)
-- or, claimed by the game calendar, to the game day's end; no command when that is
-- late enough. Else its PTTL is read: -1 is a hash written with no claim in it (its
-- claim's hash had expired, the claim waits for the end of a day claimed further west,
-- or, after a move west of more than a day, the date was claimed in the hash of the
-- date before it).
local function keep_daily(day, expire_at)
  local zone, claim = day.zone, day.claim
  local claimed_end = claim and tonumber(claim[1] or '') == zone.day
    and (not claim[4] or tonumber(claim[6] or '') == zone.day)
    and (tonumber(claim[4] or '') or zone.game_ends[zone.day])
  if claimed_end and claimed_end >= zone.start(zone.day + 1) then
    return
  end
  local left = redis.call('PTTL', day.daily)  -- -2: no hash, nothing written to it
  local now_ms = tonumber(day.now)
  -- A second's slack: the EXPIRE below counts from the whole second, and the time the
  -- call took to arrive shortens what the next call reads; an expiry a second early
  -- is within the grace.
  if left == -1 or (left >= 0 and left + 1000 < expire_at * 1000 - now_ms) then
    redis.call('EXPIRE', day.daily, expire_at - math.floor(now_ms / 1000))
  end
end

-- The progress as JSON, always with the player's current streak: every answer that
-- carries progress reports it (the streak claimed today, or the one claimed earlier).
local function finish_day(day)
  local progress = day.progress
  if day.created then
    redis.call('EXPIRE', day.daily,
      day.context.daily_expire_at - math.floor(tonumber(day.now) / 1000))
  elseif day.zone then
    keep_daily(day, day.context.daily_expire_at)
  end
  local stored  -- the streak as the hash holds it: an integer's decimal digits
  if progress.daily_bonus then
    progress.streak = progress.daily_bonus.streak
  else
    stored = redis.call('HGET', day.streak, 'streak') or '0'
    progress.streak = stored + 0
  end
  if not progress.daily_bonus and #progress.missions == 0 and not progress.xp
      and #progress.violations == 0 and not progress.ads_watched
      and not progress.claim_ends then
    return '{"streak":' .. stored .. '}'  -- nothing happened beyond the event
  end
  return cjson.encode(progress)
end
