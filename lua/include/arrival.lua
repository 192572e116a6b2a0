--[[ include arrival: the composite score of a player who arrives at a total.

Needs: nothing.
Provides arrival_composite(scores, total, multiplier, lowest): the composite just below
the lowest one holding `total` in the sorted set `scores` (total * M + M - 1 when nobody
holds it), never below total * M. `lowest` maps each total to the lowest composite the
calling script has given or found at it, so arrivals in one call queue up without a new
lookup. This is the boards' tie rule (engine.boards): higher totals first, and among
equal totals whoever reached the total first.
]]

local function arrival_composite(scores, total, multiplier, lowest)
  local low = total * multiplier
  local below = lowest[total]
  if below == nil then
    -- LIMIT's numbers as strings: Redis formats a Lua number argument with %.17g, about
    -- 2,200 instructions each (callgrind)
    local last = redis.call('ZRANGEBYSCORE', scores, string.format('%d', low),
      '(' .. string.format('%d', low + multiplier), 'WITHSCORES', 'LIMIT', '0', '1')
    below = #last > 0 and last[2] + 0 or low + multiplier  -- + 0: tonumber, no call
  end
  local composite = math.max(low, below - 1)
  lowest[total] = composite
  return composite
end
