--[[ repair_streak: buy back a player's broken streak, exactly once per break and per key.

A claim that finds the streak broken restarts it at 1 and, with streak repair in the
rules, notes the break in the streak hash (include/claim.lua): `lost`, the length
lost, and `repair_by`, the deadline. One atomic step here: the idempotency check, the
player's rate limit (a repair is bought: it takes a place in the player's window of the
purchases group, as a purchase does; refusals below are attempts and count, a replay is
answered before and never counts), the
break looked up (none noted, already repaired, or past its deadline: refused), the price
debited with its ledger and outbox entry (include/wallet.lua), the streak restored to
the length lost plus the days since (the restarted day counts: lost 10, restarted at 1
today, repaired: 11), `lost` set to 0 (repaired), the milestones the restored days reach
paid (below), and the outcome recorded under the idempotency key, refusals too.

KEYS[1] wallet       hash   resource -> balance
KEYS[2] ledger       list   the player's ledger
KEYS[3] outbox       stream the shard's entries awaiting persistence
KEYS[4] idempotency  string recorded outcome (JSON, kept short: include/replay.lua)
KEYS[5] streak       hash   last_day, streak, best, lost, repair_by
KEYS[6] rate         zset   the player's moving rate-limit window of the route group

ARGV[1] player id
ARGV[2] now             engine clock, ms
ARGV[3] max balance
ARGV[4] fingerprint
ARGV[5] idempotency ttl seconds
ARGV[6] reference       route and idempotency key, for the ledger
ARGV[7] ledger keep     entries the player's ledger list keeps at least
ARGV[8] resource        what the repair is paid in
ARGV[9] base            the price: base + per_day x the length lost, at most max_price
                        (the rules make it at least 1)
ARGV[10] per day
ARGV[11] max price
ARGV[12] rate count     the player's limit of the route group: changes a window (0: none)
ARGV[13] rate window    ms
ARGV[14] rate limit     the limit as the rules write it ("10/minute"), for the refusal
ARGV[15] rate group     the rules' rate-limit group (purchases)
ARGV[16] milestone every the login bonus's milestone_every (the rules: at least 1)
ARGV[17] milestone extra JSON resource -> amount: a milestone's reward beyond an
                        ordinary day's ("{}": nothing)

Milestones: the claims since the restart paid their days as days 1, 2, ... of a streak.
A restored day that is a milestone (its streak a multiple of ARGV[16]) whose claim paid
an ordinary day is paid here what a milestone pays beyond an ordinary day (ARGV[17]),
each amount cut to what fits under the balance limit: a ledger entry of kind
login_bonus ("daily login, streak day 7 (streak repair)"). Paid in this call, which
marks the break repaired, so once: a replay answers the record, a second repair is
refused, and a later claim counts on from the restored streak.

Returns {code, json}, its code a CODE_<NAME> (include/codes.lua, engine.outcomes):
  APPLIED             {"fp","code":APPLIED,"tx","at","deltas","balances","streak","lost",
                      "best","milestones"}: milestones [{"streak","reward","transaction_id"}],
                      reward what was credited ({} and no transaction_id: nothing fit)
  REPLAYED            the recorded outcome, as first returned
  KEY_REUSED          the idempotency key was used with another fingerprint: {"fp"}
  NOT_REPAIRABLE      {"fp","code":NOT_REPAIRABLE,"reason"}: "none" (no break noted),
                      "repaired" (this break was bought back already) or "expired"
                      (with "repair_by", the deadline passed); nothing changed
  INSUFFICIENT_FUNDS  {"fp","code":INSUFFICIENT_FUNDS,"resource","required","available"};
                      nothing changed
  RATE_LIMITED        the player's limit of the route group is reached {"limit","scope",
                      "group","retry_after"}; not recorded, so a later retry is answered
                      normally; nothing changed
]]

--- @include "codes"
--- @include "replay"

local WALLET, LEDGER, OUTBOX, IDEM, STREAK = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local RATE = KEYS[6]
local player, now, max_balance = ARGV[1], ARGV[2], tonumber(ARGV[3])
local fingerprint, ttl, reference, ledger_keep = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local resource = ARGV[8]
local base, per_day, max_price = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
local rate_count, rate_window, rate_text, group = tonumber(ARGV[12]), tonumber(ARGV[13]),
  ARGV[14], ARGV[15]
local milestone_every, milestone_extra = tonumber(ARGV[16]), ARGV[17]

local replay_code, replay = replayed(IDEM, fingerprint)
if replay_code then
  return {replay_code, replay}
end

--- @include "rate"

if rate_count > 0 then
  local taken, wait = take_slot(RATE, tonumber(now), rate_count, rate_window,
    now .. ':' .. reference)
  if not taken then
    return {CODE_RATE_LIMITED, string.format(
      '{"limit":"%s","scope":"player","group":"%s","retry_after":%d}',
      rate_text, group, math.max(1, math.ceil(wait / 1000)))}
  end
end

--- @include "ledger"
--- @include "wallet"

local function finish(code, body)
  local code_text = code == CODE_APPLIED and CODE_APPLIED_TEXT or tostring(code)
  local outcome = '{"fp":"' .. recorded_fp(fingerprint) .. '","code":' .. code_text .. ','
    .. body .. '}'
  redis.call('SET', IDEM, outcome, 'EX', ttl)
  if code ~= CODE_APPLIED then  -- no ledger entry gives a refusal's record back: SQL keeps it
    redis.call('XADD', OUTBOX, '*', 'player', player, 'type', 'record', 'ref', reference,
      'record', outcome, 'at', now)
  end
  return {code, outcome}
end

local noted = redis.call('HMGET', STREAK, 'streak', 'best', 'lost', 'repair_by')
local lost = tonumber(noted[3] or '0')
if not noted[3] then
  return finish(CODE_NOT_REPAIRABLE, '"reason":"none"')
end
if lost == 0 then
  return finish(CODE_NOT_REPAIRABLE, '"reason":"repaired"')
end
if tonumber(noted[4]) < tonumber(now) then
  return finish(CODE_NOT_REPAIRABLE, '"reason":"expired","repair_by":' .. noted[4])
end

local wallet = new_wallet(WALLET, LEDGER, OUTBOX, player, now, max_balance, ledger_keep)
local price = math.min(max_price, base + per_day * lost)
local changes = {resource, -price}
local refused, details = wallet_refusal(wallet, changes)
if refused then
  return finish(refused, details)
end
local streak = lost + tonumber(noted[1])
-- the reason names both: the streak.repaired webhook event reads them from the ledger entry
local tx, deltas = wallet_apply(wallet, changes, 'streak_repair',
  'streak repair: ' .. lost .. ' days, streak ' .. streak, reference, fingerprint)
local best = math.max(streak, tonumber(noted[2] or '0'))
redis.call('HSET', STREAK, 'streak', streak, 'best', best, 'lost', 0)

-- The restored days (lost + 1 .. streak) that are milestones their claim paid as an
-- ordinary day (its day since the restart no milestone): what a milestone pays beyond.
local milestones = {}
if milestone_extra ~= '{}' then
  local extra
  for since = 1, streak - lost do
    local restored = lost + since
    if restored % milestone_every == 0 and since % milestone_every ~= 0 then
      extra = extra or cjson.decode(milestone_extra)
      local paid_tx, paid = wallet_reward(wallet, extra, 'login_bonus',
        'daily login, streak day ' .. restored .. ' (streak repair)',
        reference .. '/bonus/' .. restored)
      milestones[#milestones + 1] = '{"streak":' .. restored .. ',"reward":' .. (paid or '{}')
        .. (paid_tx and (',"transaction_id":"' .. paid_tx .. '"') or '') .. '}'
    end
  end
end
return finish(CODE_APPLIED, '"tx":"' .. tx .. '","at":' .. now .. ',"deltas":' .. deltas
  .. ',"balances":' .. balances_json(wallet) .. ',"streak":' .. streak .. ',"lost":' .. lost
  .. ',"best":' .. best .. ',"milestones":[' .. table.concat(milestones, ',') .. ']')
