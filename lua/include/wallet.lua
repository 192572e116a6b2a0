--[[ include wallet: balance checks, changes and ledger entries of one player.

Needs: codes, ledger.
Reads no KEYS, no ARGV and no local of the including script: everything comes in
through new_wallet's parameters.

new_wallet(wallet_key, ledger_key, outbox_key, player, now, max_balance, ledger_keep)
takes the player's wallet hash and ledger list, the shard outbox, the player id, the
engine clock (ms, as a string), the balance limit (a number) and how many entries the
ledger list keeps (more while older ones wait to be persisted). It returns the wallet: a table that every other function
takes first. The wallet's hash is read once, on first use (most exams pay nothing).

A change is one outbox entry (every field, for SQL) whose stream ID is the change's
transaction id, and one JSON array [tx, kind, deltas, balances, reason, at] pushed at
the head of the ledger list. The list is then trimmed to `ledger_keep` from its oldest
end, but only of entries that are persisted: the persist job deletes an outbox entry once its row is
committed, so an entry whose ID is gone from the outbox is in SQL. Entries not yet
persisted stay, however many; SQL serves the older pages (engine.economy.ledger).

Provides new_wallet(...), wallet_refusal(wallet, changes),
wallet_apply(wallet, changes, kind, reason, ref, fp), wallet_reward(wallet, reward, kind,
reason, ref) and balances_json(wallet). `fp` is the fingerprint of the request that made
the change (kept in the outbox entry, so the idempotency record can be rebuilt from
SQL); rewards have none. `changes` is a flat list resource, delta, ...; `reward` a table
resource -> amount. Every change appends one entry to the player's ledger and the shard
outbox: the ledger sums to the wallet.
]]

local function new_wallet(wallet_key, ledger_key, outbox_key, player, now, max_balance,
    ledger_keep)
  -- stored: the hash as read, resources in order at 1..n (the array part) and each
  -- resource -> its balance as a decimal string (the hash part; what the JSON answers
  -- and HSET use): one table for both saves an allocation a call. balances: resource
  -- -> number, converted only for the resources a change touches (tonumber is the
  -- costly part of a read). Both are false until the hash is read, on first use; json
  -- is balances_json's answer until a change: every field is in the constructor, so
  -- the table never grows. reserved: resource -> what a change still to come in this
  -- call credits, room that rewards paid first leave it (wallet_reward); false: none.
  return {key = wallet_key, ledger = ledger_key, outbox = outbox_key, player = player,
    now = now, max_balance = max_balance, ledger_keep = ledger_keep, stored = false,
    balances = false, json = false, reserved = false}
end

local function load_wallet(wallet)  -- read once, on first use
  if wallet.stored then
    return
  end
  local stored = {}
  local flat = redis.call('HGETALL', wallet.key)
  for i = 1, #flat, 2 do
    stored[#stored + 1] = flat[i]
    stored[flat[i]] = flat[i + 1]
  end
  wallet.stored, wallet.balances = stored, {}
end

local function balance(wallet, resource)
  local balances = wallet.balances
  local value = balances[resource]
  if value == nil then
    value = (wallet.stored[resource] or '0') + 0  -- tonumber's value, without its call
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

local function balances_json(wallet)
  if wallet.json then
    return wallet.json
  end
  load_wallet(wallet)
  local stored, parts = wallet.stored, {}
  for i, name in ipairs(stored) do
    parts[i] = '"' .. name .. '":' .. stored[name]
  end
  wallet.json = '{' .. table.concat(parts, ',') .. '}'
  return wallet.json
end

-- nil when every change fits; else the refusal code (CODE_INSUFFICIENT_FUNDS,
-- CODE_BALANCE_LIMIT) and its details.
local function wallet_refusal(wallet, changes)
  load_wallet(wallet)
  local max_balance = wallet.max_balance
  for i = 1, #changes, 2 do
    local resource, delta = changes[i], changes[i + 1] + 0
    local current = balance(wallet, resource)
    if current + delta < 0 then
      return CODE_INSUFFICIENT_FUNDS, string.format(
        '"resource":"%s","required":%d,"available":%d', resource, -delta, current)
    end
    if current + delta > max_balance then
      return CODE_BALANCE_LIMIT, string.format('"resource":"%s","limit":%d,"balance":%d',
        resource, max_balance, current)
    end
  end
  return nil
end

-- Drop the oldest entries beyond ledger_keep while they are persisted (their outbox
-- entry is gone); stop at the first that is not. `length` is the list's length.
local function trim_ledger(wallet, length)
  drop_persisted(wallet.ledger, wallet.outbox, length - wallet.ledger_keep)
end

-- `text` as a JSON string, as cjson.encode writes it: quoted as it is when it holds no
-- byte cjson escapes (control characters, '"', '/', '\\', DEL), which a reason
-- seldom does; cjson's encoder costs more than the reason's scan.
local function json_text(text)
  if string.find(text, '[%z\1-\31"/\\\127]') then
    return cjson.encode(text)
  end
  return '"' .. text .. '"'
end

-- Apply checked changes and append the ledger entry; returns the transaction id and deltas.
-- A delta is a decimal string (from ARGV) or a number.
local function wallet_apply(wallet, changes, kind, reason, ref, fp)
  load_wallet(wallet)
  local stored, balances = wallet.stored, wallet.balances
  local deltas, updates = {}, {}
  for i = 1, #changes, 2 do
    local resource, delta = changes[i], changes[i + 1]
    if stored[resource] == nil then
      stored[#stored + 1] = resource
    end
    local value = balance(wallet, resource) + delta  -- a string's digits convert as tonumber's
    local after = string.format('%d', value)
    balances[resource], stored[resource] = value, after
    deltas[#deltas + 1] = '"' .. resource .. '":' .. decimal(delta)
    updates[#updates + 1] = resource
    updates[#updates + 1] = after
  end
  redis.call('HSET', wallet.key, unpack(updates))
  wallet.json = false
  local deltas_json, after_json = '{' .. table.concat(deltas, ',') .. '}', balances_json(wallet)
  local now = wallet.now
  local tx = redis.call('XADD', wallet.outbox, '*', 'player', wallet.player, 'kind', kind,
    'deltas', deltas_json, 'balances', after_json, 'reason', reason, 'at', now, 'ref', ref,
    'fp', fp or '')
  local length = redis.call('LPUSH', wallet.ledger, '["' .. tx .. '","' .. kind .. '",'
    .. deltas_json .. ',' .. after_json .. ',' .. json_text(reason) .. ',' .. now .. ']')
  trim_ledger(wallet, length)
  return tx, deltas_json
end

-- Pay a reward, each amount cut to what fits under the balance limit (beside what is
-- reserved); nil if nothing fits. Returns the transaction id, the deltas' JSON and
-- resource -> the amount credited.
local function wallet_reward(wallet, reward, kind, reason, ref)
  load_wallet(wallet)
  local changes, credited = {}, {}
  local names = {}
  for resource in pairs(reward) do
    names[#names + 1] = resource
  end
  table.sort(names)
  local reserved = wallet.reserved
  for _, resource in ipairs(names) do
    local room = wallet.max_balance - balance(wallet, resource)
    if reserved then
      room = room - (reserved[resource] or 0)
    end
    local fits = math.min(reward[resource], room)
    if fits > 0 then
      changes[#changes + 1] = resource
      changes[#changes + 1] = fits
      credited[resource] = fits
    end
  end
  if #changes == 0 then
    return nil
  end
  local tx, deltas = wallet_apply(wallet, changes, kind, reason, ref)
  return tx, deltas, credited
end
