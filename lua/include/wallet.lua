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

-- held: the wallet's resources in order; texts: resource -> balance as a decimal string,
-- as stored (what the JSON answers and HSET use); balances: resource -> number, converted
-- only for the resources a change touches (tonumber is the costly part of a read).
local held, texts, balances

-- A script that handles several players calls this before each one.
local function reset_wallet()
  held, texts, balances = nil, nil, nil
end

local function load_wallet()  -- read once, on first use: most exams pay nothing
  if held then
    return
  end
  held, texts, balances = {}, {}, {}
  local flat = redis.call('HGETALL', WALLET)
  for i = 1, #flat, 2 do
    held[#held + 1] = flat[i]
    texts[flat[i]] = flat[i + 1]
  end
end

local function balance(resource)
  local value = balances[resource]
  if value == nil then
    value = tonumber(texts[resource] or '0')
    balances[resource] = value
  end
  return value
end

-- Integers are written as exact decimal strings (cjson and tostring would round large ones).
local function decimal(value)
  if type(value) == 'string' then
    return value
  end
  return string.format('%d', value)
end

local function balances_json()
  load_wallet()
  local parts = {}
  for i, name in ipairs(held) do
    parts[i] = '"' .. name .. '":' .. texts[name]
  end
  return '{' .. table.concat(parts, ',') .. '}'
end

-- nil when every change fits; else the refusal code (-1 funds, -3 limit) and its details.
local function wallet_refusal(changes)
  load_wallet()
  for i = 1, #changes, 2 do
    local resource, delta = changes[i], tonumber(changes[i + 1])
    local current = balance(resource)
    if current + delta < 0 then
      return -1, string.format('"resource":"%s","required":%d,"available":%d',
        resource, -delta, current)
    end
    if current + delta > MAX_BALANCE then
      return -3, string.format('"resource":"%s","limit":%d,"balance":%d',
        resource, MAX_BALANCE, current)
    end
  end
  return nil
end

-- Apply checked changes and append the ledger entry; returns the transaction id and deltas.
-- A delta is a decimal string (from ARGV) or a number.
local function wallet_apply(changes, kind, reason, ref, fp)
  load_wallet()
  local deltas, updates = {}, {}
  for i = 1, #changes, 2 do
    local resource, delta = changes[i], changes[i + 1]
    if texts[resource] == nil then
      held[#held + 1] = resource
    end
    local value = balance(resource) + tonumber(delta)
    local after = string.format('%d', value)
    balances[resource], texts[resource] = value, after
    deltas[#deltas + 1] = '"' .. resource .. '":' .. decimal(delta)
    updates[#updates + 1] = resource
    updates[#updates + 1] = after
  end
  redis.call('HSET', WALLET, unpack(updates))
  local deltas_json, after_json = '{' .. table.concat(deltas, ',') .. '}', balances_json()
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
    local fits = math.min(reward[resource], MAX_BALANCE - balance(resource))
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
