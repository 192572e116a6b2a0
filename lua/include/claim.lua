--[[ include claim: the day's login bonus claim, the login streak and its streak freezes.

Needs: codes, wallet, context, progress.
Reads no KEYS, no ARGV and no local of the including script: everything comes in
through the parameters below, a day first (include/progress.lua's new_day).

claim_bonus(day): the first activity of a game day claims the login bonus, pays it and
counts the day's login mission; returns whether this one did. A claim that finds the
streak broken notes the break in the streak hash for streak repair (lost, repair_by:
see broken_fields; lua/repair_streak.lua buys it back). claim_state(day) reads the
streak hash's claim fields.

Streak freezes are the wallet resource `streak_freeze` (FREEZE below). claim_bonus
uses them when the day's claim follows missed game days: one a missed day, each its own
ledger entry, only if those held cover the whole gap and the gap is at most
#freeze_days; else the streak restarts at 1 and none is used. progress.freezes_used
says how many (set when any were). freeze_refusal(day, changes) refuses a change that
would hold more than freeze_max_held at any step of the call (a claim that uses the
freezes held comes before the change); brings_freezes(day, changes) tells a purchase
of freezes the claim needs (those held do not bridge the missed days, with those
bought they do), which the caller applies before claim_bonus (a freeze bought the day
after a missed day bridges it).

The bonus's ledger entry is referenced "bonus/<date claimed>", after a keyed login's
own reference when the login claims it (day.login_reference, "login/<key>").

A player with a time zone (day.zone): claim_bonus follows their own day (see there) and
progress.claim_ends tells when they may claim next (unix s); day_claimed(day, last)
says whether they may not yet, early_login_due(day, last) whether the call counts the
login of a date claimed before it began. A player on the game calendar whose last
claim was made in a zone they have left since waits for that day to end there:
claim_waits(day).

Provides claim_state, day_claimed, early_login_due, claim_waits, freeze_refusal,
brings_freezes and claim_bonus.
]]

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

-- Until when (unix s) a claim continues the streak whatever the date: the end of the day
-- after the last claim in the zone it was claimed in (streak_ends), or by the game
-- calendar for a claim made by it, when that game day is one of the call's days (any
-- older one has ended); nil when neither holds. `last` is claim_state's.
local function streak_kept_until(day, last)
  local kept = tonumber(last[5] or '')
  if kept or not day.zone then
    return kept
  end
  return day.zone.game_ends[tonumber(last[1] or '-1') + 1]
end

-- A streak of `lost` days, last claimed on `last_day`, is found broken today: with streak
-- repair, the fields that note the break (lost, repair_by) when it may still be bought
-- back, else none (an older break's are dropped). It was lost at the start of the day
-- after the last one that could have continued it: the day after last_day, plus the
-- missed days the freezes held could have bridged. For a player with a time zone, that
-- day starts as their zone says (day.zone). Either way not before the streak stopped being
-- kept by the zone of the last claim (`kept`, streak_kept_until: a move east, a zone left).
local function broken_fields(day, last_day, lost, kept)
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
  if kept then
    by = math.max(tonumber(by or 0), kept * 1000 + deadlines.window)
  end
  if by and tonumber(by) > tonumber(day.now) then
    return {'lost', lost, 'repair_by', by}
  end
  return nil
end

-- The ISO name ("2026-11-26") of the date of `ordinal` (a date's proleptic Gregorian
-- ordinal, as Python's date.toordinal): the civil date of its days since 0000-03-01.
local function date_name(ordinal)
  local days = ordinal + 305  -- 0000-03-01 is ordinal -305
  local era = math.floor(days / 146097)
  local of_era = days - era * 146097
  local year = math.floor((of_era - math.floor(of_era / 1460) + math.floor(of_era / 36524)
    - math.floor(of_era / 146096)) / 365)
  local of_year = of_era - (365 * year + math.floor(year / 4) - math.floor(year / 100))
  local shifted = math.floor((5 * of_year + 2) / 153)  -- months from March
  local month = shifted < 10 and shifted + 3 or shifted - 9
  year = year + era * 400 + (month <= 2 and 1 or 0)
  return string.format('%04d-%02d-%02d', year, month,
    of_year - math.floor((153 * shifted + 2) / 5) + 1)
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
-- keeps it: the day after the last claim has not ended in the zone it was claimed in,
-- streak_ends, or by the game calendar for a claim made by it, when that game day is
-- one of the call's days: any older one has ended) or when there is no claim before.
-- `last` is claim_state's.
local function missed_days(day, last)
  local last_day = tonumber(last[1] or '-1')
  local missed = day.context.day - last_day - 1
  local kept = streak_kept_until(day, last)
  if last_day < 0 or missed < 0 or (kept and tonumber(day.now) < kept * 1000) then
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
    local broken = broken_fields(day, last_day, tonumber(last[2] or '0'),
      streak_kept_until(day, last))
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
  -- named by the date claimed: after a move west of more than a day, the next one
  local name = claimed == context.day and context.day_name or date_name(claimed)
  -- a keyed login's reference first ("login/<key>/bonus/<date>"): its record comes back
  -- from this entry after a rebuild (engine.ops.rebuild_economy)
  local ref = 'bonus/' .. name
  if day.login_reference then
    ref = day.login_reference .. '/' .. ref
  end
  local tx, paid = pay_reward(day, reward, 'login_bonus', 'daily login, streak day ' .. streak,
    ref)
  -- the answer says what was paid: a daily earning cap or the balance limit may cut it
  day.progress.daily_bonus = {streak = streak, reward = paid and cjson.decode(paid) or {},
    transaction_id = tx}
  advance(day, 'login', 1)
  return true
end
