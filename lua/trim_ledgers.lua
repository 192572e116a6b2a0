--[[ trim_ledgers: once the persist job has committed a batch to SQL and deleted its
outbox entries, drop the entries now persisted from the ledger lists of the batch's
players of one shard, down to `keep` entries a list.

The rule is include/ledger.lua's drop_persisted, which include/wallet.lua runs at the
player's next change and this script after a persist batch: from the oldest end, an entry goes only while the list holds more
than `keep` and the entry's outbox entry is gone (the persist job deletes one only
after its row is committed); the first entry still in the outbox stops the list's trim,
so an entry not yet persisted is never dropped, however many there are. With `keep` 0 a
list whose entries are all persisted is emptied, and Redis removes the key: a player
then holds no ledger key until the next change.

KEYS, any number, all in one player shard's slot:
  1 key    the first: the shard's outbox (stream), its entries awaiting persistence;
           each other: a player's ledger (list), newest first, each entry a JSON array
           whose first element is the transaction id (the entry's outbox ID)

ARGV[1] keep    entries each list keeps at least (LEDGER_KEEP_ENTRIES)

Returns {CODE_APPLIED, the number of entries dropped}.
]]

--- @include "codes"
--- @include "ledger"

local outbox, keep = KEYS[1], tonumber(ARGV[1])
local dropped = 0
for k = 2, #KEYS do
  local ledger = KEYS[k]
  dropped = dropped + drop_persisted(ledger, outbox, redis.call('LLEN', ledger) - keep)
end
return {CODE_APPLIED, dropped}
