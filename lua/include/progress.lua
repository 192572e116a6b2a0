--[[ include progress: the daily bonus, missions and battle-pass XP of one player event.

Needs: codes, wallet, rate, context.
Reads no KEYS, no ARGV and no local of the including script: everything comes in
through the parameters below, and the call's context (include/context.lua's
parse_context).

new_day(context, wallet, daily_key, streak_key, season_key, pace_key, rate_key, now)
returns one player's day: the context, the player's wallet (include wallet), the keys
of their hash for this game day (bonus, ads, mission:<id>, mission:<id>:done and
mission:<id>:paid: what completing it credited, ...), their streak hash (last_day,
streak, best), their battle-pass hash for the current season (xp, rewarded_level,
paid:<level>: what each level reached credited), their count of state changes in the
current second, their moving rate-limit window of the event's route group, and the
engine clock (ms, as a string).
Every other function takes the day first. The day's login bonus claim, the streak and
its freezes are include/claim.lua's (claim_bonus), which takes this day.

A player with a time zone: the caller sets day.zone (include/zone.lua's player_day) on
the day of their local date. finish_day keeps the day's hash at least to the end of
their local date in their current zone plus the grace (see keep_daily).

The fields of the day's hash a call reads (the bonus claim, missions' done flags, earned
amounts under the caps) come from daily_field: one HMGET of the fields plan_daily named
when the first is asked for, one HGET of a field not named.

Provides new_day, plan_daily(day, event, more), daily_field(day, name),
daily_write(day, name, value), over_rate(day, group, member), too_fast(day),
pay_reward(day, reward, kind, reason, ref), advance(day, event, amount), add_xp(day,
amount), finish_day(day), and day.progress, the table that tells the caller what
happened, including `violations` of the earning caps.
]]

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
-- The cap counts what the wallet credited: what the balance limit cut was not earned.
local function pay_reward(day, reward, kind, reason, ref)
  local caps = rewards(day.context).caps[kind]
  local allowed, capped = {}, {}
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
      capped[resource] = field
    end
    if pay > 0 then
      allowed[resource] = pay
    end
  end
  local tx, deltas, credited = wallet_reward(day.wallet, allowed, kind, reason, ref)
  for resource, field in pairs(capped) do
    local paid = credited and credited[resource]
    if paid then
      daily_write(day, field, redis.call('HINCRBY', day.daily, field, paid))
    end
  end
  return tx, deltas
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
    -- the season hash keeps what each level credited (paid:<level>, its deltas' JSON,
    -- {} when a cap or the balance limit cut it to nothing): the battle pass lists it
    local kept = {'rewarded_level', level}
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
        kept[#kept + 1] = 'paid:' .. reached
        kept[#kept + 1] = paid or '{}'
      end
      record_event(day, 'battle_pass.level_reached', ref, reason, tx, paid)
    end
    redis.call('HSET', day.season, unpack(kept))
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
        daily_write(day, field .. ':done', day.now)
        entry.completed = true
        entry.xp = paid.xp
        local reason = 'mission ' .. mission.id
        local ref = 'mission/' .. context.day_name .. '/' .. mission.id
        local tx, deltas = pay_reward(day, paid.reward, 'mission_reward', reason, ref)
        -- done, and what it credited (the day's state lists it): {} when a cap or the
        -- balance limit cut it all
        redis.call('HSET', daily, field .. ':done', day.now, field .. ':paid', deltas or '{}')
        entry.reward = deltas and cjson.decode(deltas) or {}  -- what was paid (capped?)
        entry.transaction_id = tx
        record_event(day, 'mission.completed', ref, reason, tx, deltas)
        add_xp(day, paid.xp)
      end
      table.insert(day.progress.missions, entry)
    end
  end
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
