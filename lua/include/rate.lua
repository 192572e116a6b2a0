--[[ include rate: a moving-window rate limit on one sorted set.

take_slot(key, now, count, window, member) counts one state change at `now` (ms) in
the window of `window` ms kept in `key` (member -> ms), unless `count` changes are
already in it. `now` and `window` may be numbers or decimal strings: strings go to
ZADD and PEXPIRE as they are (Redis formats a Lua number argument with %.17g, about
2,200 instructions each, callgrind). Returns true, or false and the ms until the
oldest change leaves the window. The key expires with the window.

The changes that left the window are dropped when the set is full (it holds `count`
members: some may be out of the window) and at every eighth member it reaches (the
cardinality 7, 15, 23, ...: a set well below its count never holds more than a few
old members): most calls take the slot with ZCARD, ZADD and PEXPIRE, and a set with
fewer than `count` members cannot hold `count` changes in the window.

Needs: nothing.
Provides take_slot; takes everything as parameters.
]]

local function take_slot(key, now, count, window, member)
  local held = redis.call('ZCARD', key)
  if held >= count or held % 8 == 7 then
    held = held - redis.call('ZREMRANGEBYSCORE', key, '-inf',
      string.format('%d', now - window))
    if held >= count then
      local oldest = redis.call('ZRANGE', key, '0', '0', 'WITHSCORES')
      return false, tonumber(oldest[2]) + window - now
    end
  end
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, window)
  return true
end
