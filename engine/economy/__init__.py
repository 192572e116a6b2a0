"""The economy: balances, the ledger, idempotency, purchases, grants and player activity.

`wallet` and `ledger` read a player's balances and history; `transactions` applies an
admin's grant (apply_transaction.lua) and decodes every balance change's outcome;
`activity` runs a purchase, an ad reward or a login through record_activity.lua, the
one script that debits and credits a player's wallet for their own actions;
`purchases` and `grants` check a request and call those; `idempotency` fingerprints a
request so a replay answers its first outcome.

Depends on: core, rules, progression, security.
"""
