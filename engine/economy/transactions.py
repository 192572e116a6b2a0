"""Balance changes: one Lua call checks, applies, records the outcome and the ledger.

Every balance changes inside a Lua script that includes lua/include/wallet.lua, which
writes the wallet, the ledger entry and the outbox entry (the persist job's copy to
SQL) in one atomic call: for every player the ledger's deltas sum to the wallet, always.
There are four writers, because each kind of request does more than change a balance
and must do all of it in that one call:

- admin grants: engine.economy.grants.grant → `apply` here → lua/apply_transaction.lua
  (+ includes codes, replay, wallet): a balance change and nothing else.
- purchases, ad rewards and logins: engine.economy.activity.record →
  lua/record_activity.lua (+ includes codes, replay, wallet, rate, progress, claim): the
  activity also counts against the rate limit and pace, claims the day's login bonus and
  advances missions and battle-pass XP.
- exams: engine.boards.exams.record_exams → lua/record_exams.lua (+ includes codes,
  wallet, rate, progress, claim): a batch of exams, per player shard, with their board aggregates.
- streak repair: engine.economy.streak_repair.repair → lua/repair_streak.lua (+ includes
  codes, replay, rate, wallet): the player's rate limit, the price debited and the broken
  streak restored together.

Level and mission rewards are no writer of their own: lua/include/progress.lua pays
them inside record_activity and record_exams, in the call of the activity that earned
them. This module also reads back what the first two record (`outcome_to_transaction`),
through the one decoder of script answers, engine.outcomes.decode.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine import keys
from engine.clock import from_ms, to_ms
from engine.economy.idempotency import IdempotentRequest
from engine.errors import IdempotencyKeyReusedError
from engine.outcomes import SCRIPT_ERRORS, ScriptCode, decode
from engine.progression import Progress
from engine.rules.progression import FREEZE_RESOURCE
from engine.runtime import Engine


@dataclass(frozen=True)
class Transaction:
    """A recorded outcome: the event's own change (if any) and the balances after all of it."""

    transaction_id: str | None
    at: datetime
    deltas: dict[str, int]
    balances: dict[str, int]
    replayed: bool = False
    progress: Progress | None = None


def apply(
    engine: Engine,
    player_id: str,
    kind: str,
    deltas: dict[str, int],
    reason: str,
    request: IdempotentRequest,
) -> Transaction:
    """Apply `deltas` to the player's wallet exactly once for `request`.

    Raises:
        InsufficientFundsError: a balance would go below zero; nothing changed.
        BalanceLimitError: a balance would go above the rules' maximum.
        IdempotencyKeyReusedError: the key was used before with another request.
    """
    script_keys, args = script_call(engine, player_id, kind, deltas, reason, request)
    code, payload = engine.scripts.apply_transaction(keys=script_keys, args=args)
    return answer_of(engine, request, code, payload)


def script_call(
    engine: Engine,
    player_id: str,
    kind: str,
    deltas: dict[str, int],
    reason: str,
    request: IdempotentRequest,
) -> tuple[list[str], list[Any]]:
    """The KEYS and ARGV of apply_transaction.lua for this change (a batch queues many)."""
    if not deltas or any(delta == 0 for delta in deltas.values()):
        raise ValueError("a transaction needs at least one non-zero delta")
    args: list[Any] = [
        player_id,
        kind,
        reason,
        to_ms(engine.clock.now()),
        request.fingerprint,
        engine.idempotency_ttl_seconds,
        holding_limits(engine),
        request.reference,
        engine.ledger_keep_entries,
    ]
    for resource, delta in deltas.items():
        args += [resource, delta]
    script_keys = [
        keys.wallet(player_id),
        keys.ledger(player_id),
        keys.player_outbox(player_id),
        request.redis_key(player_id),
    ]
    return script_keys, args


def holding_limits(engine: Engine) -> str:
    """apply_transaction.lua's ARGV[7]: the balance limit, then the most streak freezes a
    wallet holds when the rules have them, so a grant is held to what the catalog sells."""
    rules = engine.rules
    if rules.streak_freeze is None:
        return str(rules.limits.max_balance)
    return f"{rules.limits.max_balance} {FREEZE_RESOURCE}={rules.streak_freeze.max_held}"


def answer_of(engine: Engine, request: IdempotentRequest, code: int, payload: Any) -> Transaction:
    """apply_transaction.lua's reply as the transaction, or its typed error raised."""
    outcome = json.loads(payload)
    answer = decode(code, outcome, reused=key_reused(request.key))
    return outcome_to_transaction(engine, outcome, replayed=answer is ScriptCode.REPLAYED)


def key_reused(idempotency_key: str) -> IdempotencyKeyReusedError:
    """The refusal of a KEY_REUSED answer, naming the key (the script knows only its hash)."""
    _, message = SCRIPT_ERRORS[ScriptCode.KEY_REUSED]
    return IdempotencyKeyReusedError(message, {"idempotency_key": idempotency_key})


def outcome_to_transaction(engine: Engine, outcome: dict, replayed: bool) -> Transaction:
    """Turn a recorded outcome into the transaction it describes, or raise its error."""
    decode(outcome["code"], outcome, replayed=replayed)
    return Transaction(
        transaction_id=outcome.get("tx"),
        at=from_ms(outcome["at"]),
        deltas=outcome.get("deltas") or {},
        balances=with_every_resource(engine, outcome["balances"]),
        replayed=replayed,
        progress=Progress.from_script(outcome.get("progress")),
    )


def with_every_resource(engine: Engine, balances: dict[str, Any]) -> dict[str, int]:
    """Every resource of the rules, zero where the wallet has none, then any others."""
    full = {resource: 0 for resource in engine.rules.resources}
    full.update({name: int(amount) for name, amount in balances.items()})
    return full
