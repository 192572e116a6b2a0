--[[ read_player: read a player's keys, counting the read in the player's rate limit.

KEYS, any number, all in the player's slot:
  1 key    the first: the player's moving rate-limit window of the route's group
           (zset); each other: a key read

ARGV[1] now      engine clock, ms
ARGV[2] count    reads the window allows (0: no limit, nothing counted)
ARGV[3] window   ms
ARGV[4] member   a token of this request
ARGV[5] read     'hgetall' (HGETALL of each key) or 'lrange' (LRANGE 0 -1 of each key)

Returns a CODE_<NAME> (include/codes.lua, engine.outcomes) first: {APPLIED, the reply
of each key's read} when the read fits in the window; {RATE_LIMITED, ms until a read
leaves the window} when it is full (nothing is read or counted).

The routes that read a player's state (wallet, ledger, daily, missions, battle pass,
ranks) take the per-player limit here, in the slot of the keys they read, so a read
is one round trip (the window is the key engine.keys.player_rate_window).
]]

--- @include "codes"
--- @include "rate"

local count = tonumber(ARGV[2])
if count > 0 then
  local taken, wait = take_slot(KEYS[1], tonumber(ARGV[1]), count, tonumber(ARGV[3]), ARGV[4])
  if not taken then
    return {CODE_RATE_LIMITED, wait}
  end
end

local reply = {CODE_APPLIED}
if ARGV[5] == 'lrange' then
  for i = 2, #KEYS do
    reply[i] = redis.call('LRANGE', KEYS[i], 0, -1)
  end
else
  for i = 2, #KEYS do
    reply[i] = redis.call('HGETALL', KEYS[i])
  end
end
return reply
