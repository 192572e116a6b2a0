--[[ include ledger: the trim of a player's ledger list (newest first, each entry a JSON
array whose first element is the transaction id, its ID in the shard's outbox).

Needs: nothing.

drop_persisted(ledger, outbox, excess) drops up to `excess` entries from the oldest end
while each is persisted (its outbox entry is gone: the persist job deletes one only
after its row is committed); the first entry still in the outbox stops the trim, so an
entry not yet persisted is never dropped. Returns the number dropped. Used by
include/wallet.lua at a player's change and by trim_ledgers.lua after a persist batch.
]]

local function drop_persisted(ledger, outbox, excess)
  local dropped = 0
  while dropped < excess do
    local tx = string.match(redis.call('LINDEX', ledger, -1), '^%["([0-9-]+)"')
    if #redis.call('XRANGE', outbox, tx, tx) > 0 then
      break
    end
    redis.call('RPOP', ledger)
    dropped = dropped + 1
  end
  return dropped
end
