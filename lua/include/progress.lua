--[[ include progress: the daily bonus, missions and battle-pass XP of one player event.

The including script defines these locals first (and includes wallet before this):
  DAILY    key: the player's hash for this game day (bonus, ads, mission:<id>, ...)
  STREAK   key: the player's streak hash (last_day, streak, best)
  SEASON   key: the player's battle-pass hash for the current season (xp, rewarded_level)
  PACE     key: the player's count of state changes in the current second
  RATE     key: the player's moving rate-limit window of the event's route group
  CTX      the context, set with parse_context(text) after this include: day
           (ordinal), day_name, daily_expire_at (unix s), pace_limit, missions
           [{id, event, target}], season {id, xp_per_level} (nil: no season), rates
           {group: {count, window, text}} (the per-player rate limits, window in ms, text
           as in the rules: "10/minute"). The text
           is "day|day_name|expire_at|pace_limit|season id|xp per level|missions|rates"
           with missions "id:event:target;..." and rates "group:count:window_ms:text;...":
           read with string patterns, no JSON decoding
  REWARDS_JSON  what rewards pay, JSON, decoded on first use: bonus {normal,
           milestone, every}, missions {id: {xp, reward}}, levels {"<level>": reward},
           caps {kind: {resource: amount}} (daily earning caps)

Needs include rate (take_slot) before it.

Provides parse_context(text), reset_progress(), over_rate(group, member), too_fast(),
pay_reward(reward, kind, reason, ref), claim_bonus(),
advance(event, amount), add_xp(amount), finish_day() and the `progress` table that
tells the caller what happened, including `violations` of the earning caps.
]]

local progress, daily_created
local REWARDS

local function parse_context(text)
  local day, day_name, expire_at, pace, season, per_level, list, rates =
    string.match(text, '^(%d+)|([^|]+)|(%d+)|(%d+)|([^|]*)|(%d*)|([^|]*)|(.*)$')
  local parsed = {day = tonumber(day), day_name = day_name,
    daily_expire_at = tonumber(expire_at), pace_limit = tonumber(pace), missions = {},
    rates = {}}
  if season ~= '' then
    parsed.season = {id = season, xp_per_level = tonumber(per_level)}
  end
  for id, event, target in string.gmatch(list, '([^:;]+):([^:;]+):(%d+)') do
    parsed.missions[#parsed.missions + 1] = {id = id, event = event, target = tonumber(target)}
  end
  for group, count, window, limit in string.gmatch(rates, '([^:;]+):(%d+):(%d+):([^:;]+)') do
    parsed.rates[group] = {count = tonumber(count), window = tonumber(window), text = limit}
  end
  return parsed
end

local function rewards()  -- most events pay nothing: decode only when paying
  if not REWARDS then
    REWARDS = cjson.decode(REWARDS_JSON)
  end
  return REWARDS
end

-- A script that handles several players calls this before each one.
local function reset_progress()
  progress = {missions = {}, level_rewards = {}, violations = {}}
  daily_created = false
end
reset_progress()

-- The player's rate limit of the route group: count this attempted change in its moving
-- window. Called after the replay and no-op checks, so only attempted changes count.
-- Returns false, or the refusal's JSON (limit, scope, group, retry_after in seconds).
local function over_rate(group, member)
  local rate = CTX.rates[group]
  if not rate then
    return false
  end
  local now = tonumber(NOW)
  local taken, wait = take_slot(RATE, now, rate.count, rate.window, NOW .. ':' .. member)
  if taken then
    return false
  end
  return string.format(
    '{"limit":"%s","scope":"player","group":"%s","retry_after":%d}',
    rate.text, group, math.max(1, math.ceil(wait / 1000)))
end

-- Rapid fire: count this state change in the current second; true when over the limit.
local function too_fast()
  local count = redis.call('INCR', PACE)
  if count == 1 then
    redis.call('EXPIRE', PACE, 2)
  end
  if count > CTX.pace_limit then
    return count
  end
  return false
end

-- Pay a reward within the day's earning cap for its kind; what the cap cuts is a violation.
local function pay_reward(reward, kind, reason, ref)
  local caps = rewards().caps[kind]
  local allowed = {}
  for resource, amount in pairs(reward) do
    local pay = amount
    local cap = caps and caps[resource]
    if cap then
      local field = 'earned:' .. kind .. ':' .. resource
      local earned = tonumber(redis.call('HGET', DAILY, field) or '0')
      pay = math.max(0, math.min(amount, cap - earned))
      if pay < amount then
        table.insert(progress.violations, {rule = 'daily_earning_cap', kind = kind,
          resource = resource, cap = cap, earned = earned, refused = amount - pay})
      end
      if pay > 0 then
        redis.call('HINCRBY', DAILY, field, pay)
      end
    end
    if pay > 0 then
      allowed[resource] = pay
    end
  end
  return wallet_reward(allowed, kind, reason, ref)
end

local function add_xp(amount)
  local season = CTX.season
  if season == nil or amount <= 0 then
    return
  end
  local xp = redis.call('HINCRBY', SEASON, 'xp', amount)
  local level = math.floor(xp / season.xp_per_level) + 1
  local rewarded = tonumber(redis.call('HGET', SEASON, 'rewarded_level') or '1')
  local gained = progress.xp or {season = season.id, gained = 0, levels_gained = {}}
  gained.gained = gained.gained + amount
  gained.total = xp
  gained.level = level
  progress.xp = gained
  if level > rewarded then
    for reached = rewarded + 1, level do
      table.insert(gained.levels_gained, reached)
      local reward = rewards().levels[tostring(reached)]
      if reward then
        local tx = pay_reward(reward, 'level_reward', 'battle pass level ' .. reached,
          'level/' .. season.id .. '/' .. reached)
        table.insert(progress.level_rewards,
          {level = reached, reward = reward, transaction_id = tx})
      end
    end
    redis.call('HSET', SEASON, 'rewarded_level', level)
  end
end

local function advance(event, amount)
  if amount <= 0 then
    return
  end
  for _, mission in ipairs(CTX.missions) do
    if mission.event == event then
      local field = 'mission:' .. mission.id
      if redis.call('HEXISTS', DAILY, field .. ':done') == 0 then
        local value = redis.call('HINCRBY', DAILY, field, amount)
        local entry = {id = mission.id, progress = math.min(value, mission.target),
          target = mission.target, completed = false}
        if value >= mission.target then
          local paid = rewards().missions[mission.id]
          redis.call('HSET', DAILY, field .. ':done', NOW)
          entry.completed = true
          entry.xp = paid.xp
          entry.reward = paid.reward
          entry.transaction_id = pay_reward(paid.reward, 'mission_reward',
            'mission ' .. mission.id, 'mission/' .. CTX.day_name .. '/' .. mission.id)
          add_xp(paid.xp)
        end
        table.insert(progress.missions, entry)
      end
    end
  end
end

-- The first activity of a game day claims the login bonus; returns whether this one did.
local function claim_bonus()
  if redis.call('HSETNX', DAILY, 'bonus', NOW) == 0 then
    return false
  end
  daily_created = true  -- the day's first activity creates the day's hash
  local last = redis.call('HMGET', STREAK, 'last_day', 'streak', 'best')
  local last_day = tonumber(last[1] or '-1')
  if last_day >= CTX.day then
    return false  -- already claimed for this day (or the clock was moved back)
  end
  local streak = 1
  if last_day == CTX.day - 1 then
    streak = tonumber(last[2]) + 1
  end
  redis.call('HSET', STREAK, 'last_day', CTX.day, 'streak', streak,
    'best', math.max(streak, tonumber(last[3] or '0')))
  local bonus = rewards().bonus
  local reward = bonus.normal
  if streak % bonus.every == 0 then
    reward = bonus.milestone
  end
  local tx = pay_reward(reward, 'login_bonus', 'daily login, streak day ' .. streak,
    'bonus/' .. CTX.day_name)
  progress.daily_bonus = {streak = streak, reward = reward, transaction_id = tx}
  advance('login', 1)
  return true
end

-- The progress as JSON, always with the player's current streak: every answer that
-- carries progress reports it (the streak claimed today, or the one claimed earlier).
local function finish_day()
  if daily_created then
    redis.call('EXPIRE', DAILY, CTX.daily_expire_at - math.floor(tonumber(NOW) / 1000))
  end
  if progress.daily_bonus then
    progress.streak = progress.daily_bonus.streak
  else
    progress.streak = tonumber(redis.call('HGET', STREAK, 'streak') or '0')
  end
  if not progress.daily_bonus and #progress.missions == 0 and not progress.xp
      and #progress.violations == 0 and not progress.ads_watched then
    return '{"streak":' .. progress.streak .. '}'  -- nothing happened beyond the event
  end
  return cjson.encode(progress)
end
