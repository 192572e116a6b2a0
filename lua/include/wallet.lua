--[[ include wallet: balance checks, changes and ledger entries, for the including script.

The including script defines these locals first:
  WALLET, LEDGER, OUTBOX   keys: the player's wallet hash and ledger stream, the shard outbox
  PLAYER, NOW, MAX_BALANCE the player id, the engine clock (ms), the balance limit
  LEDGER_KEEP              how many entries the ledger stream keeps at least; older ones
                           are trimmed as whole stream nodes (XADD MAXLEN ~). The outbox
                           carries every entry to SQL, which keeps the full history

Provides reset_wallet(), wallet_refusal(changes), wallet_apply(changes, kind, reason, ref, fp),
wallet_reward(reward, kind, reason, ref) and balances_json(). `fp` is the fingerprint of
the request that made the change (kept in the outbox entry, so the idempotency record
can be rebuilt from SQL); rewards have none. `changes` is a flat list
resource, delta, ...; `reward` a table resource -> amount. Every change appends one
entry to the player's ledger and the shard outbox: the ledger sums to the wallet.
]]

local balances, held

-- A script that handles several players calls this before each one.
local function reset_wallet()
  balances, held = nil, nil
end

local function load_wallet()  -- read once, on first use: most exams pay nothing
  if balances then
    return
  end
  balances, held = {}, {}
  local flat = redis.call('HGETALL', WALLET)
  for i = 1, #flat, 2 do
    held[#held + 1] = flat[i]
    balances[flat[i]] = tonumber(flat[i + 1])
  end
end

local function amounts_json(names, values)
  -- Integers are written as exact decimal strings (cjson would round large ones).
  local parts = {}
  for i, name in ipairs(names) do
    parts[i] = string.format('"%s":%d', name, values[name])
  end
  return '{' .. table.concat(parts, ',') .. '}'
end

local function balances_json()
  load_wallet()
  return amounts_json(held, balances)
end

-- nil when every change fits; else the refusal code (-1 funds, -3 limit) and its details.
local function wallet_refusal(changes)
  load_wallet()
  for i = 1, #changes, 2 do
    local resource, delta = changes[i], tonumber(changes[i + 1])
    local balance = balances[resource] or 0
    if balance + delta < 0 then
      return -1, string.format('"resource":"%s","required":%d,"available":%d',
        resource, -delta, balance)
    end
    if balance + delta > MAX_BALANCE then
      return -3, string.format('"resource":"%s","limit":%d,"balance":%d',
        resource, MAX_BALANCE, balance)
    end
  end
  return nil
end

-- Apply checked changes and append the ledger entry; returns the transaction id and deltas.
local function wallet_apply(changes, kind, reason, ref, fp)
  load_wallet()
  local names, deltas, updates = {}, {}, {}
  for i = 1, #changes, 2 do
    local resource, delta = changes[i], tonumber(changes[i + 1])
    if balances[resource] == nil then
      held[#held + 1] = resource
      balances[resource] = 0
    end
    balances[resource] = balances[resource] + delta
    names[#names + 1] = resource
    deltas[resource] = delta
    updates[#updates + 1] = resource
    updates[#updates + 1] = string.format('%d', balances[resource])
  end
  redis.call('HSET', WALLET, unpack(updates))
  local deltas_json, after_json = amounts_json(names, deltas), balances_json()
  local tx = redis.call('XADD', LEDGER, 'MAXLEN', '~', LEDGER_KEEP, '*', 'kind', kind,
    'deltas', deltas_json, 'balances', after_json, 'reason', reason, 'at', NOW, 'ref', ref)
  redis.call('XADD', OUTBOX, '*', 'player', PLAYER, 'tx', tx, 'kind', kind,
    'deltas', deltas_json, 'balances', after_json, 'reason', reason, 'at', NOW, 'ref', ref,
    'fp', fp or '')
  return tx, deltas_json
end

-- Pay a reward, each amount cut to what fits under MAX_BALANCE; nil if nothing fits.
local function wallet_reward(reward, kind, reason, ref)
  load_wallet()
  local changes = {}
  local names = {}
  for resource in pairs(reward) do
    names[#names + 1] = resource
  end
  table.sort(names)
  for _, resource in ipairs(names) do
    local fits = math.min(reward[resource], MAX_BALANCE - (balances[resource] or 0))
    if fits > 0 then
      changes[#changes + 1] = resource
      changes[#changes + 1] = fits
    end
  end
  if #changes == 0 then
    return nil
  end
  return wallet_apply(changes, kind, reason, ref)
end
