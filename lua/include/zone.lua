--[[ include zone: the day of a player with a time zone (engine.progression.timezones).

Needs: nothing.
Provides player_day; reads no KEYS, no ARGV and no local of the including script.

player_day(settings_key, now, contexts, rewards, daily_keys) picks the player's day.
`contexts` is the game day's context (include/context.lua's parse_context), then, on
lines of their own, the daily grace in seconds and the context of each other day some
zone may be in at `now`; `rewards` is the game day's rewards JSON then those of the
same other days, a line each; `daily_keys` the daily hash of each day, game day first.
A player without a zone (no `days` in their settings hash), or a call with the game
day's context only, gets the game day: (context, rewards, daily key, false), the
rewards as given (include/context.lua decodes their first line only). A player
with one gets the day their table puts `now` in: its context with its own expiry (the
end of the local day plus the grace) and the game day's season, its rewards, its daily
key, and a zone table {day (ordinal), start (a function: when the player's local day of
a given ordinal starts, unix s), game_ends {ordinal: when that game day ends}}.

The settings field `days` is "<day>:<shift>;...": from local day <day> (a date
ordinal) until the next entry, day L starts at (L - 719163) * 86400 + shift unix s.
]]

local EPOCH_ORDINAL = 719163

local function day_start(segments, ordinal)
  local shift = segments[1][2]
  for i = 2, #segments do
    if segments[i][1] > ordinal then
      break
    end
    shift = segments[i][2]
  end
  return (ordinal - EPOCH_ORDINAL) * 86400 + shift
end

-- The context `text` of a local day with its own expiry and the game day's season.
local function local_context(text, game_text, expire_at)
  local day, name, pace, tail = string.match(text, '^(%d+)|([^|]+)|%d+|(%d+)|[^|]*|%d*(.*)$')
  local season, per_level = string.match(game_text, '^%d+|[^|]+|%d+|%d+|([^|]*)|(%d*)')
  return day .. '|' .. name .. '|' .. string.format('%d', expire_at) .. '|' .. pace .. '|'
    .. season .. '|' .. per_level .. tail
end

local function player_day(settings_key, now, contexts, rewards, daily_keys)
  local cut = string.find(contexts, '\n', 1, true)
  if not cut then
    return contexts, rewards, daily_keys[1], false
  end
  local table_text = redis.call('HGET', settings_key, 'days')
  if not table_text then
    -- the game day's: the context's first line, and the rewards as given (decoded, when
    -- at all, from their first line: copying it cost about 10,000 instructions, callgrind)
    return string.sub(contexts, 1, cut - 1), rewards, daily_keys[1], false
  end
  local lines = {}
  for line in string.gmatch(contexts, '[^\n]+') do
    lines[#lines + 1] = line
  end
  local rewards_lines = {}
  for line in string.gmatch(rewards, '[^\n]+') do
    rewards_lines[#rewards_lines + 1] = line
  end
  local game = lines[1]
  local segments = {}
  for first, shift in string.gmatch(table_text, '(%d+):(%-?%d+)') do
    segments[#segments + 1] = {tonumber(first), tonumber(shift)}
  end
  local grace = tonumber(lines[2])
  local candidates = {game}
  for i = 3, #lines do
    candidates[#candidates + 1] = lines[i]
  end
  local game_ends, chosen = {}, nil
  local now_ms = tonumber(now)
  for i, text in ipairs(candidates) do
    local ordinal, expire_at = string.match(text, '^(%d+)|[^|]+|(%d+)|')
    ordinal = tonumber(ordinal)
    game_ends[ordinal] = tonumber(expire_at) - grace
    if not chosen and day_start(segments, ordinal) * 1000 <= now_ms
        and now_ms < day_start(segments, ordinal + 1) * 1000 then
      chosen = i
    end
  end
  if not chosen then
    return game, rewards_lines[1], daily_keys[1], false
  end
  local ordinal = tonumber(string.match(candidates[chosen], '^(%d+)'))
  local ends = day_start(segments, ordinal + 1)
  local zone = {day = ordinal, game_ends = game_ends,
    start = function(day) return day_start(segments, day) end}
  return local_context(candidates[chosen], game, ends + grace), rewards_lines[chosen],
    daily_keys[chosen], zone
end
