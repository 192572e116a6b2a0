--[[ record_activity: a player's purchase, ad reward or login, with everything it earns.

One atomic step: the idempotency check, the player's rate limit and pace (rapid fire),
the event's own balance change (the purchase,
the ad reward), the day's login bonus if this is the player's first activity of the
game day, the missions the event advances and their rewards, battle-pass XP and
level rewards. Every balance change is its own ledger entry. The outcome is recorded
under the idempotency key (a login, whose natural key is the game day, records one
only when it has an Idempotency-Key: then a claimed day's answer too).

A replay of a recorded outcome, and a login of a day already claimed (it changes
nothing), are answered before the rate limit and the pace are looked at: copies of a
request sent by a retrying client are never counted, never refused, never a violation.

KEYS[1] wallet       hash   resource -> balance
KEYS[2] ledger       stream the player's ledger
KEYS[3] outbox       stream the shard's entries awaiting persistence
KEYS[4] idempotency  string recorded outcome (JSON, kept short and packed: include/replay.lua)
KEYS[5] daily        hash   the player's counters for this game day
KEYS[6] streak       hash   last_day, streak, best
KEYS[7] season       hash   battle-pass xp and rewarded_level for the current season
KEYS[8] pace         string the player's state changes in the current second
KEYS[9] rate         zset   the player's moving rate-limit window of this route group
KEYS[10] settings    hash   the player's settings (time zone: include/zone.lua)
KEYS[11], KEYS[12]   hash   the daily hashes of the other days some zone may be in now
                            (include/zone.lua; a key may repeat KEYS[5] when fewer)

ARGV[1] player id
ARGV[2] now             engine clock, ms
ARGV[3] max balance
ARGV[4] fingerprint     "" for no idempotency record
ARGV[5] idempotency ttl seconds
ARGV[6] reference       route and idempotency key, for the ledger
ARGV[7] context        see include/context.lua; then, for a player with a time zone,
                        the other days' contexts (include/zone.lua's player_day)
ARGV[8] rewards (JSON)  see include/context.lua; decoded only when something is paid;
                        then the other days' rewards, a line each
ARGV[9] kind            purchase, ad_reward or login
ARGV[10] reason         for the ledger entry of the event's own change
ARGV[11] event          mission event this activity counts as ("" for none)
ARGV[12] daily cap      the most ad rewards a day (0: no cap)
ARGV[13] ledger keep    entries the player's ledger stream keeps at least
ARGV[14] rate group     the rules' rate-limit group (purchases, ad_rewards, login)
ARGV[15..] pairs of resource, delta: the event's own change (none for a login); an
          ad reward is paid as a reward, within its daily earning cap

Returns {code, json}, its code a CODE_<NAME> (include/codes.lua, engine.outcomes):
  APPLIED             {"fp","code":APPLIED,"tx"?,"at","deltas"?,"balances","progress"}
  REPLAYED            the recorded outcome
  NO_CHANGE           a login of a day already claimed, or whose claim waits for the
                      end of a day claimed in a zone left since (include/claim.lua's
                      claim_waits) {"fp","code":APPLIED,"at",
                      "balances","progress":{"streak"}}; nothing counted, recorded only
                      under a login's Idempotency-Key (ARGV[4] not ""), and then also
                      added to the outbox as a "record" entry (player, ref, record, at)
  INSUFFICIENT_FUNDS, BALANCE_LIMIT: as apply_transaction; BALANCE_LIMIT also when a
                      purchase would hold more streak freezes than the rules allow
  KEY_REUSED          the idempotency key was used with another fingerprint
  DAILY_LIMIT         the daily cap is reached: {"fp","code":DAILY_LIMIT,"limit","used"};
                      this and the two refusals above are added to the outbox as a
                      "record" entry too, as a keyed login's that claimed nothing
  RAPID_FIRE          more state changes this second than the rules allow {"limit","count"};
                      not recorded under the idempotency key, so a later retry is
                      answered normally
  RATE_LIMITED        the player's limit of the route group is reached {"limit","scope",
                      "group","retry_after"}; not recorded either
]]

--- @include "codes"

local WALLET, LEDGER, OUTBOX, IDEM = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local DAILY, STREAK, SEASON, PACE, RATE = KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local player, now, max_balance = ARGV[1], ARGV[2], ARGV[3] + 0  -- + 0: tonumber, no call
local fingerprint, ttl, reference = ARGV[4], ARGV[5], ARGV[6]
local kind, reason, event, cap = ARGV[9], ARGV[10], ARGV[11], ARGV[12] + 0
local ledger_keep, group = ARGV[13], ARGV[14]

--- @include "replay"

if fingerprint ~= '' then
  local replay_code, replay = replayed(IDEM, fingerprint)
  if replay_code then
    return {replay_code, replay}
  end
end

--- @include "ledger"
--- @include "wallet"
--- @include "rate"
--- @include "context"
--- @include "progress"
--- @include "claim"
--- @include "zone"

local wallet = new_wallet(WALLET, LEDGER, OUTBOX, player, now, max_balance, ledger_keep)
local context_text, rewards_json, zone
context_text, rewards_json, DAILY, zone = player_day(KEYS[10], now, ARGV[7], ARGV[8],
  {DAILY, KEYS[11], KEYS[12]})
local day = new_day(parse_context(context_text, rewards_json), wallet, DAILY, STREAK,
  SEASON, PACE, RATE, now)
day.zone = zone

-- `keep`: the record is one no ledger entry gives back (a keyed login that claimed
-- nothing, a refusal, an ad the earning cap paid nothing for), so it goes to SQL too, as
-- an outbox entry of type "record" (the persist job writes it to idempotency_records,
-- `questboard rebuild` writes it back).
local function finish(code, body, keep)
  local code_text = code == CODE_APPLIED and CODE_APPLIED_TEXT or tostring(code)
  local outcome = '{"fp":"' .. recorded_fp(fingerprint) .. '","code":' .. code_text .. ','
    .. body .. '}'
  if fingerprint ~= '' then
    redis.call('SET', IDEM, packed_record(outcome), 'EX', ttl)
    if keep then
      redis.call('XADD', OUTBOX, '*', 'player', player, 'type', 'record', 'ref', reference,
        'record', outcome, 'at', now)
    end
  end
  return {code, outcome}
end

local changes = {}
for i = 15, #ARGV do
  changes[#changes + 1] = ARGV[i]
end

-- The daily hash's fields this call reads, in one command when first needed: the
-- bonus, the event's missions, and for an ad reward its count and what its earning
-- caps have paid.
local more = {}
if cap > 0 then
  more[1] = 'ads'
end
if kind == 'ad_reward' then
  for i = 1, #changes, 2 do
    more[#more + 1] = 'earned:' .. kind .. ':' .. changes[i]
  end
end
plan_daily(day, event, more)

if kind == 'login' and ((zone and day_claimed(day) and not early_login_due(day, day.claim))
    or (not zone and (daily_field(day, 'bonus') or claim_waits(day)))) then
  -- recorded under its Idempotency-Key when it has one, so a retry answers the same
  local answer = finish(CODE_APPLIED, '"at":' .. now .. ',"balances":'
    .. balances_json(wallet) .. ',"progress":' .. compact_progress(finish_day(day)), true)
  return {CODE_NO_CHANGE, answer[2]}
end

local limited = over_rate(day, group, reference)
if limited then
  return {CODE_RATE_LIMITED, limited}
end

local fast = too_fast(day)
if fast then
  return {CODE_RAPID_FIRE, string.format('{"limit":%d,"count":%d}', day.context.pace_limit,
    fast)}
end

local used = 0
if cap > 0 then
  used = tonumber(daily_field(day, 'ads') or '0')
  if used >= cap then
    return finish(CODE_DAILY_LIMIT, string.format('"limit":%d,"used":%d', cap, used), true)
  end
end
local refused, details = wallet_refusal(wallet, changes)
if refused then
  return finish(refused, details, true)
end
refused, details = freeze_refusal(day, changes)  -- at most the rules' streak freezes held
if refused then
  return finish(refused, details, true)
end

local own = ''
-- A purchase of streak freezes the claim needs is applied before it, so that the
-- claim uses them (include/claim.lua's brings_freezes); any other change after it.
local freezes_first = kind ~= 'ad_reward' and brings_freezes(day, changes)
if freezes_first then
  local tx, deltas = wallet_apply(wallet, changes, kind, reason, reference, fingerprint)
  own = '"tx":"' .. tx .. '","deltas":' .. deltas .. ','
end
-- The event's own change after the bonus was checked against the wallet as it is: the
-- bonus leaves it room under the balance limit (include/wallet.lua's reserved).
if kind ~= 'ad_reward' and #changes > 0 and not freezes_first then
  local credits = {}
  for i = 1, #changes, 2 do
    local delta = tonumber(changes[i + 1])
    if delta > 0 then
      credits[changes[i]] = delta
    end
  end
  wallet.reserved = credits
end
if kind == 'login' and fingerprint ~= '' then
  day.login_reference = reference  -- the bonus's entry names the key (include/claim.lua)
end
claim_bonus(day)
wallet.reserved = false
if kind == 'ad_reward' then
  local reward = {}
  for i = 1, #changes, 2 do
    reward[changes[i]] = tonumber(changes[i + 1])
  end
  local tx, deltas = pay_reward(day, reward, kind, reason, reference)
  if tx then
    own = '"tx":"' .. tx .. '","deltas":' .. deltas .. ','
  end
elseif #changes > 0 and not freezes_first then
  local tx, deltas = wallet_apply(wallet, changes, kind, reason, reference, fingerprint)
  own = '"tx":"' .. tx .. '","deltas":' .. deltas .. ','
end
if cap > 0 then
  day.progress.ads_watched = redis.call('HINCRBY', DAILY, 'ads', 1)
  day.progress.ads_limit = cap  -- recorded: a replay answers the cap it counted against
  daily_write(day, 'ads', day.progress.ads_watched)
end
if event ~= '' then
  advance(day, event, 1)
end
local progress_json = compact_progress(finish_day(day))  -- recorded: kept short
-- an ad the earning cap paid nothing for has no entry of its own to give its record back
return finish(CODE_APPLIED, own .. '"at":' .. now .. ',"balances":' .. balances_json(wallet)
  .. ',"progress":' .. progress_json, own == '' and kind == 'ad_reward')
