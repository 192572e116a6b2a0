--[[ include rate: a moving-window rate limit on one sorted set.

take_slot(key, now, count, window, member) counts one state change at `now` (ms) in
the window of `window` ms kept in `key` (member -> ms), unless `count` changes are
already in it. Returns true, or false and the ms until the oldest change leaves the
window. The key expires with the window.

Needs: nothing.
Provides take_slot; takes everything as parameters.
]]

local function take_slot(key, now, count, window, member)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= count then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return false, tonumber(oldest[2]) + window - now
  end
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, window)
  return true
end
