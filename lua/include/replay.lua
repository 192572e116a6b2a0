--[[ include replay: answer a repeated idempotent request from its recorded outcome.

Needs: codes.
Takes everything as parameters.

Provides replayed(key, fingerprint): nothing when the key holds no outcome yet;
CODE_REPLAYED and the recorded outcome when the request is a replay (same
fingerprint); or CODE_KEY_REUSED and {"fp"} when the key was used for another
request. Recorded outcomes are JSON that starts with {"fp":"<fingerprint>", so the
check needs no decoding.
]]

local function replayed(key, fingerprint)
  local recorded = redis.call('GET', key)
  if not recorded then
    return nil
  end
  if string.sub(recorded, 1, #fingerprint + 8) ~= '{"fp":"' .. fingerprint .. '"' then
    return CODE_KEY_REUSED, '{"fp":"' .. fingerprint .. '"}'
  end
  return CODE_REPLAYED, recorded
end
