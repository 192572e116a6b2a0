--[[ include replay: answer a repeated idempotent request from its recorded outcome.

Needs: codes.
Takes everything as parameters.

Provides replayed(key, fingerprint): nothing when the key holds no outcome yet;
CODE_REPLAYED and the recorded outcome when the request is a replay (same
fingerprint); or CODE_KEY_REUSED and {"fp"} when the key was used for another
request. A record starts with "#" and the fingerprint's 16 bytes, or (a fingerprint
that is not 32 hex digits) with {<fp's byte>"<fingerprint>" (packed_record, below); the
JSON layout before it with {"fp":"<fingerprint>": the check needs no decoding.

Records are kept short, since every request with a key leaves one for a day:
recorded_fp(fingerprint) is the part of the fingerprint a record keeps, its first 32
characters (128 bits of the SHA-256; engine.economy.idempotency.KEPT), and replayed
also accepts a record written with the whole fingerprint (by earlier versions).
compact_progress(json) leaves out the members of a progress object that are empty
lists (cjson writes them {} or []): the reader (engine.progression.Progress) takes a
missing one as empty.

packed_record(outcome) is the outcome as its record keeps it: every member name of
RECORD_NAMES, written '"<name>":', becomes one byte, the name's place in the list
(1 to 31: a byte no outcome holds, since cjson escapes control characters and every
other name in an outcome is a rules name, engine.rules.fields.NAME, or a number); a
purchase's record is about half its JSON. The fingerprint's 32 hex digits are kept as
the 16 bytes they write (fp_bytes), behind "#", in place of {"fp":"<digits>".
unpacked_record(record) writes the names back, and replayed the fingerprint's digits:
a replay answers the outcome exactly as first answered. A record of the JSON layout
(before packing) has no such byte and is answered as it is. The list is
engine.economy.idempotency.RECORD_NAMES as well, in the same order: a name's byte
never changes, names are only added at the end.
]]

local function recorded_fp(fingerprint)
  return string.sub(fingerprint, 1, 32)
end

-- name -> its byte in a record (engine.economy.idempotency.RECORD_NAMES, in order)
local function record_bytes()
  return {fp = '\1', code = '\2', tx = '\3', at = '\4', deltas = '\5', balances = '\6',
    progress = '\7', streak = '\8', daily_bonus = '\9', reward = '\10',
    transaction_id = '\11', missions = '\12', id = '\13', target = '\14',
    completed = '\15', xp = '\16', season = '\17', gained = '\18', total = '\19',
    level = '\20', levels_gained = '\21', level_rewards = '\22', violations = '\23',
    ads_watched = '\24', claim_ends = '\25', resource = '\26', required = '\27',
    available = '\28', limit = '\29', balance = '\30', used = '\31'}
end

-- The 16 bytes a fingerprint's 32 hex digits write, or nil for another fingerprint (a
-- test's "fp-1"), which its record keeps as text.
local function fp_bytes(kept)
  if #kept ~= 32 or string.find(kept, '[^0-9a-f]') then
    return nil
  end
  local bytes = {}
  for at = 1, 25, 8 do  -- 8 digits a number (exact in a double), 4 bytes each
    local word, n = tonumber(string.sub(kept, at, at + 7), 16), #bytes
    for b = n + 4, n + 1, -1 do
      bytes[b] = word % 256
      word = (word - bytes[b]) / 256
    end
  end
  return string.char(unpack(bytes))
end

local function packed_record(outcome)
  local names = record_bytes()
  local kept = string.match(outcome, '^{"fp":"([^"]*)"')
  local bytes = kept and fp_bytes(kept)
  if bytes then  -- '#' and 16 bytes in place of '{"fp":"<32 digits>"'
    return '#' .. bytes .. (string.gsub(string.sub(outcome, #kept + 9), '"(%l[%l_]*)":', names))
  end
  return (string.gsub(outcome, '"(%l[%l_]*)":', names))
end

local function unpacked_record(recorded)
  local names = {}
  for name, byte in pairs(record_bytes()) do
    names[byte] = '"' .. name .. '":'
  end
  return (string.gsub(recorded, '[\1-\31]', names))
end

local function replayed(key, fingerprint)
  local recorded = redis.call('GET', key)
  if not recorded then
    return nil
  end
  local kept = recorded_fp(fingerprint)
  if string.byte(recorded, 1) == 35 then  -- '#': the fingerprint's 16 bytes
    if string.sub(recorded, 2, 17) ~= fp_bytes(kept) then
      return CODE_KEY_REUSED, '{"fp":"' .. fingerprint .. '"}'
    end
    return CODE_REPLAYED, '{"fp":"' .. kept .. '"' .. unpacked_record(string.sub(recorded, 18))
  end
  if string.sub(recorded, 1, #kept + 4) == '{\1"' .. kept .. '"' then
    return CODE_REPLAYED, unpacked_record(recorded)
  end
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
