--[[ apply_transaction: change a player's balances exactly once, with its ledger entry.

Checks every resulting balance (never below zero, never above the limit), applies the
deltas, appends the ledger entry to the player's ledger and to the shard outbox, and
records the outcome under the idempotency key, all in one atomic step. A request
that repeats an idempotency key with the same fingerprint gets the recorded outcome
back and changes nothing; with another fingerprint it is refused. Used for admin
grants, which are not player activity (no bonus, no missions).

KEYS[1] wallet       hash   resource -> balance
KEYS[2] ledger       stream the player's ledger
KEYS[3] outbox       stream the shard's entries awaiting persistence
KEYS[4] idempotency  string recorded outcome (JSON, its member names packed; "fp" keeps
                            the fingerprint's first 32 characters: include/replay.lua),
                            expires after ARGV[6] seconds

ARGV[1] player id
ARGV[2] kind            ledger kind: grant, ...
ARGV[3] reason          free text for the ledger
ARGV[4] now             engine clock, milliseconds since the epoch
ARGV[5] fingerprint     hash of the request; a replay must carry the same one
ARGV[6] idempotency ttl seconds
ARGV[7] max balance     a number, optionally followed by the most a wallet may hold of
                        some resources: "1000000 streak_freeze=2" (a grant that would
                        hold more is refused BALANCE_LIMIT, as a purchase is)
ARGV[8] reference       route and idempotency key, kept in the ledger entry
ARGV[9] ledger keep     entries the player's ledger stream keeps at least
ARGV[10..] pairs of resource, delta (integer, never 0)

Returns {code, json}, its code a CODE_<NAME> (include/codes.lua, engine.outcomes):
  APPLIED             {"fp","code":APPLIED,"tx","at","deltas","balances"}
  REPLAYED            the recorded outcome, as first returned (code APPLIED,
                      INSUFFICIENT_FUNDS or BALANCE_LIMIT inside)
  INSUFFICIENT_FUNDS  {"fp","code":INSUFFICIENT_FUNDS,"resource","required","available"}
  KEY_REUSED          the idempotency key was used with another fingerprint: {"fp"}
  BALANCE_LIMIT       {"fp","code":BALANCE_LIMIT,"resource","limit","balance"}
  A refusal's record is also added to the outbox as a "record" entry (player, ref,
  record: the outcome's JSON, at), for SQL to keep.
]]

--- @include "codes"
--- @include "replay"

local WALLET, LEDGER, OUTBOX, IDEM = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local player, now, ledger_keep = ARGV[1], ARGV[4], ARGV[9]
local max_balance = tonumber(string.match(ARGV[7], '^%d+'))
local kind, reason, fingerprint, ttl, reference = ARGV[2], ARGV[3], ARGV[5], ARGV[6], ARGV[8]

local replay_code, replay = replayed(IDEM, fingerprint)
if replay_code then
  return {replay_code, replay}
end

--- @include "ledger"
--- @include "wallet"

local wallet = new_wallet(WALLET, LEDGER, OUTBOX, player, now, max_balance, ledger_keep)

local changes = {}
for i = 10, #ARGV do
  changes[#changes + 1] = ARGV[i]
end

-- nil when no change takes a resource with a most of its own above that most
local function held_refusal()
  for i = 1, #changes, 2 do
    local resource, delta = changes[i], tonumber(changes[i + 1])
    local most = string.match(ARGV[7], ' ' .. resource .. '=(%d+)')
    if most and delta > 0 and balance(wallet, resource) + delta > tonumber(most) then
      return CODE_BALANCE_LIMIT, string.format('"resource":"%s","limit":%s,"balance":%d',
        resource, most, balance(wallet, resource))
    end
  end
  return nil
end

local kept_fp = recorded_fp(fingerprint)
local code, details = wallet_refusal(wallet, changes)
if not code then
  code, details = held_refusal()
end
if code then
  local outcome = '{"fp":"' .. kept_fp .. '","code":' .. code .. ',' .. details .. '}'
  redis.call('SET', IDEM, packed_record(outcome), 'EX', ttl)
  -- no ledger entry gives a refusal's record back after a rebuild: SQL keeps it
  -- (engine.economy.idempotency_records, written by the persist job)
  redis.call('XADD', OUTBOX, '*', 'player', player, 'type', 'record', 'ref', reference,
    'record', outcome, 'at', now)
  return {code, outcome}
end

local tx, deltas = wallet_apply(wallet, changes, kind, reason, reference, fingerprint)
local applied = '{"fp":"' .. kept_fp .. '","code":' .. CODE_APPLIED_TEXT .. ',"tx":"' .. tx
  .. '","at":' .. now .. ',"deltas":' .. deltas .. ',"balances":' .. balances_json(wallet)
  .. '}'
local outcome = packed_record(applied)  -- as the record keeps it
redis.call('SET', IDEM, outcome, 'EX', ttl)
return {CODE_APPLIED, applied}
