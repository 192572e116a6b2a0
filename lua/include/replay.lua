--[[ include replay: answer a repeated idempotent request from its recorded outcome.

Needs: codes.
Takes everything as parameters.

Provides replayed(key, fingerprint): nothing when the key holds no outcome yet;
CODE_REPLAYED and the recorded outcome when the request is a replay (same
fingerprint); or CODE_KEY_REUSED and {"fp"} when the key was used for another
request. Recorded outcomes are JSON that starts with {"fp":"<fingerprint>", so the
check needs no decoding.

Records are kept short, since every request with a key leaves one for a day:
recorded_fp(fingerprint) is the part of the fingerprint a record keeps, its first 32
characters (128 bits of the SHA-256; engine.economy.idempotency.KEPT), and replayed
also accepts a record written with the whole fingerprint (by earlier versions).
compact_progress(json) leaves out the members of a progress object that are empty
lists (cjson writes them {} or []): the reader (engine.progression.Progress) takes a
missing one as empty.
]]

local function recorded_fp(fingerprint)
  return string.sub(fingerprint, 1, 32)
end

local function replayed(key, fingerprint)
  local recorded = redis.call('GET', key)
  if not recorded then
    return nil
  end
  local kept = recorded_fp(fingerprint)
  if string.sub(recorded, 1, #kept + 8) ~= '{"fp":"' .. kept .. '"'
      and string.sub(recorded, 1, #fingerprint + 8) ~= '{"fp":"' .. fingerprint .. '"' then
    return CODE_KEY_REUSED, '{"fp":"' .. fingerprint .. '"}'
  end
  return CODE_REPLAYED, recorded
end

local EMPTY_LISTS = {'"level_rewards":', '"missions":', '"violations":', '"levels_gained":'}

local function compact_progress(json)
  if not string.find(json, '[{%[][}%]]') then
    return json  -- no empty list (most answers: '{"streak":n}')
  end
  for _, name in ipairs(EMPTY_LISTS) do
    json = string.gsub(json, name .. '[{%[][}%]],?', '')
  end
  return (string.gsub(json, ',}', '}'))
end
