--[[ include context: what every player of one call shares, read from the engine's text.

Needs: nothing.
Reads no KEYS, no ARGV and no local of the including script.

parse_context(text, rewards_json) returns the context shared by every player of the
call: day (ordinal), day_name, daily_expire_at (unix s), pace_limit, season {id,
xp_per_level} (false: no season), freeze_max_held (0: no streak freezes), and what
rewards pay. The rest is read from the text when first asked for, since most events
need one rate and one event's missions: context_missions(context) [{id, event,
target}], event_missions(context, event) (one event's missions), context_rate(context,
group) {count, window, text} or nil (a per-player rate limit, window in ms as its
decimal digits, text as in the rules: "10/minute"), freeze_days(context) (the names of
the game days a streak freeze may stand for, yesterday first: as many as one gap may
bridge), repair_deadlines(context) (nil: no streak repair; else the repair deadlines,
ms, of a streak lost at the start of yesterday and of today, and the window, ms). The
text is "day|day_name|expire_at|pace_limit|season id|xp per level|missions|rates|max
held|days|repair by" with missions "id:event:target;...", rates
"group:count:window_ms:text;...", days "2026-11-24,2026-11-23" and repair by
"1795600000000,1795686400000,86400000" (the last three may be left out): read with
string patterns, no JSON decoding. rewards_json (bonus {normal, milestone, every},
missions {id: {xp, reward}}, levels {"<level>": reward}, caps {kind: {resource:
amount}}, the daily earning caps) is decoded by rewards(context) on first use, once per
call, from its first line: what follows is other days' (include/zone.lua).

Provides parse_context, context_missions, event_missions, context_rate, freeze_days,
repair_deadlines and rewards.
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
