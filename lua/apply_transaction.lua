--[[ apply_transaction: change a player's balances exactly once, with its ledger entry.

Checks every resulting balance (never below zero, never above the limit), applies the
deltas, appends the ledger entry to the player's ledger and to the shard outbox, and
records the outcome under the idempotency key, all in one atomic step. A request
that repeats an idempotency key with the same fingerprint gets the recorded outcome
back and changes nothing; with another fingerprint it is refused.

KEYS[1] wallet       hash   resource -> balance
KEYS[2] ledger       stream the player's ledger
KEYS[3] outbox       stream the shard's entries awaiting persistence
KEYS[4] idempotency  string recorded outcome (JSON), expires after ARGV[6] seconds

ARGV[1] player id
ARGV[2] kind            ledger kind: purchase, grant, ...
ARGV[3] reason          free text for the ledger
ARGV[4] now             engine clock, milliseconds since the epoch
ARGV[5] fingerprint     hash of the request; a replay must carry the same one
ARGV[6] idempotency ttl seconds
ARGV[7] max balance
ARGV[8] reference       route and idempotency key, kept in the ledger entry
ARGV[9..] pairs of resource, delta (integer, never 0)

Returns {code, json}:
   0  applied:  {"fp","code":0,"tx","at","deltas","balances"}
   1  replay:   the recorded outcome, as first returned (code 0, -1 or -3 inside)
  -1  insufficient funds:   {"fp","code":-1,"resource","required","available"}
  -2  idempotency key reused with another fingerprint: {"fp"}
  -3  balance limit:        {"fp","code":-3,"resource","limit","balance"}
]]

local wallet, ledger, outbox, idem = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local player, kind, reason, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local fingerprint, ttl, max_balance, reference = ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[8]

local recorded = redis.call('GET', idem)
if recorded then
  if cjson.decode(recorded).fp ~= fingerprint then
    return {-2, '{"fp":"' .. fingerprint .. '"}'}
  end
  return {1, recorded}
end

local function amounts(names, values)
  -- Integers are written as exact decimal strings (cjson would round large ones).
  local parts = {}
  for i, name in ipairs(names) do
    parts[i] = string.format('"%s":%d', name, values[name])
  end
  return '{' .. table.concat(parts, ',') .. '}'
end

local function refuse(code, body)
  local outcome = '{"fp":"' .. fingerprint .. '","code":' .. code .. ',' .. body .. '}'
  redis.call('SET', idem, outcome, 'EX', ttl)
  return {code, outcome}
end

local balances, held = {}, {}
local flat = redis.call('HGETALL', wallet)
for i = 1, #flat, 2 do
  held[#held + 1] = flat[i]
  balances[flat[i]] = tonumber(flat[i + 1])
end

local changed, deltas, updates = {}, {}, {}
for i = 9, #ARGV, 2 do
  local resource, delta = ARGV[i], tonumber(ARGV[i + 1])
  local balance = balances[resource] or 0
  local after = balance + delta
  if after < 0 then
    return refuse(-1, string.format('"resource":"%s","required":%d,"available":%d',
      resource, -delta, balance))
  end
  if after > max_balance then
    return refuse(-3, string.format('"resource":"%s","limit":%d,"balance":%d',
      resource, max_balance, balance))
  end
  if balances[resource] == nil then
    held[#held + 1] = resource
  end
  balances[resource] = after
  changed[#changed + 1] = resource
  deltas[resource] = delta
  updates[#updates + 1] = resource
  updates[#updates + 1] = string.format('%d', after)
end

redis.call('HSET', wallet, unpack(updates))

local deltas_json = amounts(changed, deltas)
local balances_json = amounts(held, balances)
local tx = redis.call('XADD', ledger, '*', 'kind', kind, 'deltas', deltas_json,
  'balances', balances_json, 'reason', reason, 'at', now, 'ref', reference)
redis.call('XADD', outbox, '*', 'player', player, 'tx', tx, 'kind', kind,
  'deltas', deltas_json, 'balances', balances_json, 'reason', reason, 'at', now,
  'ref', reference)

local outcome = '{"fp":"' .. fingerprint .. '","code":0,"tx":"' .. tx .. '","at":' .. now
  .. ',"deltas":' .. deltas_json .. ',"balances":' .. balances_json .. '}'
redis.call('SET', idem, outcome, 'EX', ttl)
return {0, outcome}
