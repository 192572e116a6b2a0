--[[ include progress: the daily bonus, missions and battle-pass XP of one player event.

The including script defines these locals first (and includes wallet before this):
  DAILY    key: the player's hash for this game day (bonus, ads, mission:<id>, ...)
  STREAK   key: the player's streak hash (last_day, streak, best)
  SEASON   key: the player's battle-pass hash for the current season (xp, rewarded_level)
  CTX      the decoded context: day (ordinal), day_name, daily_expire_at (unix s),
           bonus {normal, milestone, every}, missions [{id, event, target, xp, reward}],
           season {id, xp_per_level, rewards {"<level>": reward}} (absent: no season)

Provides claim_bonus(), advance(event, amount), add_xp(amount), finish_day() and the
`progress` table that tells the caller what happened.
]]

local progress = {missions = {}, level_rewards = {}}

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
      local reward = season.rewards[tostring(reached)]
      if reward then
        local tx = wallet_reward(reward, 'level_reward', 'battle pass level ' .. reached,
          'level/' .. season.id .. '/' .. reached)
        table.insert(progress.level_rewards, {level = reached, reward = reward, transaction_id = tx})
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
          redis.call('HSET', DAILY, field .. ':done', NOW)
          entry.completed = true
          entry.xp = mission.xp
          entry.reward = mission.reward
          entry.transaction_id = wallet_reward(mission.reward, 'mission_reward',
            'mission ' .. mission.id, 'mission/' .. CTX.day_name .. '/' .. mission.id)
          add_xp(mission.xp)
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
  local reward = CTX.bonus.normal
  if streak % CTX.bonus.every == 0 then
    reward = CTX.bonus.milestone
  end
  local tx = wallet_reward(reward, 'login_bonus', 'daily login, streak day ' .. streak,
    'bonus/' .. CTX.day_name)
  progress.daily_bonus = {streak = streak, reward = reward, transaction_id = tx}
  advance('login', 1)
  return true
end

local function finish_day()
  redis.call('EXPIREAT', DAILY, CTX.daily_expire_at)
  progress.streak = tonumber(redis.call('HGET', STREAK, 'streak') or '0')
  return cjson.encode(progress)
end
