--[[ include replay: answer a repeated idempotent request from its recorded outcome.

replayed(key, fingerprint) returns nothing when the key holds no outcome yet;
1 and the recorded outcome when the request is a replay (same fingerprint); or
-2 and {"fp"} when the key was used for another request. Recorded outcomes are JSON
that starts with {"fp":"<fingerprint>", so the check needs no decoding.
]]

local function replayed(key, fingerprint)
  local recorded = redis.call('GET', key)
  if not recorded then
    return nil
  end
  if string.sub(recorded, 1, #fingerprint + 8) ~= '{"fp":"' .. fingerprint .. '"' then
    return -2, '{"fp":"' .. fingerprint .. '"}'
  end
  return 1, recorded
end
