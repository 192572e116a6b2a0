--[[ restore_forward: write a player's hash back from SQL's copy (the rebuild), never
over a newer state Redis holds.

KEYS[1] hash   the player's hash (engine.keys: board_stats, streak, battle_pass)

ARGV[1] ttl    seconds the hash lives from now at least, or 0: its expiry is left alone
               (a hash that never expires). Only ever extended; a hash without one gets it
ARGV[2] by     "" or the name of the field that orders the whole hash
ARGV[3..] field, value, ...   the copy's fields

Returns {CODE_APPLIED, the number of fields written}.

SQL's copy lags Redis by up to a persist interval, so a hash Redis still holds (a
rebuild over a Redis that lost only part of its data: a cluster's master, some keys, or
a rebuild run again) is as new as the copy or newer. What only moves forward is kept
where Redis holds it further on: a value is compared with the one Redis holds as its
numbers in order (the digits between any other characters: "55:2:20:10:291600" is
55, 2, 20, 10, 291600, compared first to first, then second to second, ...), and the
copy's is written only where it is further on, or Redis holds none.

Two ways, by ARGV[2]:
- "" (field by field): each field on its own, e.g. a player's board stats, one field a
  board of a period, "score:exams:questions:correct:reached" (a higher score, or as high
  over more exams, is newer);
- a field's name (the whole hash by it): the copy's fields are written all together,
  and only when the hash's value of that field is absent or behind the copy's, e.g. a
  streak by its last_day (a streak may fall, but never to a day before it) or a battle
  pass by its xp (its rewarded level follows the xp).
]]

--- @include "codes"

local hash, ttl, by = KEYS[1], tonumber(ARGV[1]), ARGV[2]

-- Whether `copy` is further on than `held` (false, or a value Redis holds).
local function ahead(copy, held)
  if not held then
    return true
  end
  local theirs = string.gmatch(held, '%d+')
  for part in string.gmatch(copy, '%d+') do
    local other = theirs()
    if other == nil then
      return true  -- as far in every number Redis holds, and one more
    end
    local mine, held_part = tonumber(part), tonumber(other)
    if mine ~= held_part then
      return mine > held_part
    end
  end
  return false  -- the same numbers: nothing newer
end

local names, values = {}, {}
for i = 3, #ARGV, 2 do
  names[#names + 1] = ARGV[i]
  values[#values + 1] = ARGV[i + 1]
end

local written = {}
if by ~= '' then
  local mine
  for n, name in ipairs(names) do
    if name == by then
      mine = values[n]
    end
  end
  if mine and ahead(mine, redis.call('HGET', hash, by)) then
    for n, name in ipairs(names) do
      written[#written + 1] = name
      written[#written + 1] = values[n]
    end
  end
elseif #names > 0 then
  local held = redis.call('HMGET', hash, unpack(names))
  for n, name in ipairs(names) do
    if ahead(values[n], held[n]) then
      written[#written + 1] = name
      written[#written + 1] = values[n]
    end
  end
end
if #written > 0 then
  redis.call('HSET', hash, unpack(written))
end
if ttl > 0 then
  local left = redis.call('TTL', hash)  -- -1: no expiry, -2: no hash (nothing to keep)
  if left == -1 or left < ttl then
    redis.call('EXPIRE', hash, ttl)
  end
end
return {CODE_APPLIED, #written / 2}
