--[[ record_activity: a player's purchase, ad reward or login, with everything it earns.

One atomic step: the idempotency check, the player's rate limit and pace (rapid fire),
the event's own balance change (the purchase,
the ad reward), the day's login bonus if this is the player's first activity of the
game day, the missions the event advances and their rewards, battle-pass XP and
level rewards. Every balance change is its own ledger entry. The outcome is recorded
under the idempotency key (the login, whose natural key is the game day, records none).

A replay of a recorded outcome, and a login of a day already claimed (it changes
nothing), are answered before the rate limit and the pace are looked at: copies of a
request sent by a retrying client are never counted, never refused, never a violation.

KEYS[1] wallet       hash   resource -> balance
KEYS[2] ledger       stream the player's ledger
KEYS[3] outbox       stream the shard's entries awaiting persistence
KEYS[4] idempotency  string recorded outcome (JSON)
KEYS[5] daily        hash   the player's counters for this game day
KEYS[6] streak       hash   last_day, streak, best
KEYS[7] season       hash   battle-pass xp and rewarded_level for the current season
KEYS[8] pace         string the player's state changes in the current second
KEYS[9] rate         zset   the player's moving rate-limit window of this route group

ARGV[1] player id
ARGV[2] now             engine clock, ms
ARGV[3] max balance
ARGV[4] fingerprint     "" for no idempotency record
ARGV[5] idempotency ttl seconds
ARGV[6] reference       route and idempotency key, for the ledger
ARGV[7] context        see include/progress.lua
ARGV[8] rewards (JSON)  see include/progress.lua; decoded only when something is paid
ARGV[9] kind            purchase, ad_reward or login
ARGV[10] reason         for the ledger entry of the event's own change
ARGV[11] event          mission event this activity counts as ("" for none)
ARGV[12] daily cap      the most ad rewards a day (0: no cap)
ARGV[13] ledger keep    entries the player's ledger stream keeps at least
ARGV[14] rate group     the rules' rate-limit group (purchases, ad_rewards, login)
ARGV[15..] pairs of resource, delta: the event's own change (none for a login); an
          ad reward is paid as a reward, within its daily earning cap

Returns {code, json}:
   0  done:      {"fp","code":0,"tx"?,"at","deltas"?,"balances","progress"}
   1  replay:    the recorded outcome
   2  no change: a login of a day already claimed {"fp":"","code":0,"at","balances",
                 "progress":{"streak"}}; nothing counted, nothing recorded
  -1  insufficient funds, -3 balance limit: as apply_transaction
  -2  idempotency key reused with another fingerprint
  -4  daily limit reached:  {"fp","code":-4,"limit","used"}
  -5  rapid fire: more state changes this second than the rules allow {"limit","count"};
      not recorded under the idempotency key, so a later retry is answered normally
  -6  rate limited: the player's limit of the route group is reached {"limit","scope",
      "group","retry_after"}; not recorded either
]]

local WALLET, LEDGER, OUTBOX, IDEM = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local DAILY, STREAK, SEASON, PACE, RATE = KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local PLAYER, NOW, MAX_BALANCE = ARGV[1], ARGV[2], tonumber(ARGV[3])
local fingerprint, ttl, reference = ARGV[4], ARGV[5], ARGV[6]
local kind, reason, event, cap = ARGV[9], ARGV[10], ARGV[11], tonumber(ARGV[12])
local REWARDS_JSON, LEDGER_KEEP, group = ARGV[8], ARGV[13], ARGV[14]

--- @include "replay"

if fingerprint ~= '' then
  local replay_code, replay = replayed(IDEM, fingerprint)
  if replay_code then
    return {replay_code, replay}
  end
end

local CTX

--- @include "wallet"
--- @include "rate"
--- @include "progress"

CTX = parse_context(ARGV[7])

local function finish(code, body)
  local outcome = '{"fp":"' .. fingerprint .. '","code":' .. code .. ',' .. body .. '}'
  if fingerprint ~= '' then
    redis.call('SET', IDEM, outcome, 'EX', ttl)
  end
  return {code, outcome}
end

if kind == 'login' and redis.call('HEXISTS', DAILY, 'bonus') == 1 then
  return {2, '{"fp":"","code":0,"at":' .. NOW .. ',"balances":' .. balances_json()
    .. ',"progress":' .. finish_day() .. '}'}
end

local limited = over_rate(group, reference)
if limited then
  return {-6, limited}
end

local fast = too_fast()
if fast then
  return {-5, string.format('{"limit":%d,"count":%d}', CTX.pace_limit, fast)}
end

local changes = {}
for i = 15, #ARGV do
  changes[#changes + 1] = ARGV[i]
end

local used = 0
if cap > 0 then
  used = tonumber(redis.call('HGET', DAILY, 'ads') or '0')
  if used >= cap then
    return finish(-4, string.format('"limit":%d,"used":%d', cap, used))
  end
end
local refused, details = wallet_refusal(changes)
if refused then
  return finish(refused, details)
end

claim_bonus()
local own = ''
if kind == 'ad_reward' then
  local reward = {}
  for i = 1, #changes, 2 do
    reward[changes[i]] = tonumber(changes[i + 1])
  end
  local tx, deltas = pay_reward(reward, kind, reason, reference)
  if tx then
    own = '"tx":"' .. tx .. '","deltas":' .. deltas .. ','
  end
elseif #changes > 0 then
  local tx, deltas = wallet_apply(changes, kind, reason, reference, fingerprint)
  own = '"tx":"' .. tx .. '","deltas":' .. deltas .. ','
end
if cap > 0 then
  progress.ads_watched = redis.call('HINCRBY', DAILY, 'ads', 1)
end
if event ~= '' then
  advance(event, 1)
end
local progress_json = finish_day()
return finish(0, own .. '"at":' .. NOW .. ',"balances":' .. balances_json()
  .. ',"progress":' .. progress_json)
