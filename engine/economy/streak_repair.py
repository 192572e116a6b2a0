"""Streak repair: buying back a broken streak within its window, exactly once.

A claim that finds the streak broken (lua/include/claim.lua, in the same call as the
claim) restarts it at 1 and, when `[streak_repair]` is enabled, notes the length lost
and the repair deadline in the streak hash: the end of the last game day that could
still have continued the streak (streak freezes held count), plus the rules' window.
Streak freezes are used first: a gap they bridge is no break.

`repair` → lua/repair_streak.lua (+ includes codes, replay, rate, wallet): in one atomic
call the idempotency check, the player's rate limit, the break looked up, the price
debited with its ledger and outbox entry (so persist writes it to SQL like a purchase),
the streak restored to the length lost plus the days since, the milestones the
restored days reach paid, and the outcome recorded under the Idempotency-Key.
A break is repaired once: the script marks it repaired, so a second key is refused.

A restored day that is a milestone of the login bonus (rules `[login_bonus]`
milestone_every) was paid, by the claim that restarted the streak or one after it, as
an ordinary day of the new streak. The repair pays what the milestone pays beyond that
(`milestone_extra`) in its own call, a `login_bonus` ledger entry each, so a player who
buys their streak back is paid what a player who never missed was: once, since the
call that pays it is the one that marks the break repaired.

A repair is paid like a purchase, and it is rate-limited like one, in the rules'
`purchases` group: it takes a place in the player's window of that group inside the
script, after the replay check, so a copy of a recorded repair is never counted or
refused while a refused repair (nothing to repair, short of funds) is an attempt and
counts, as a refused purchase does. With the player's address it counts in the
address's `purchases` window too (engine.security.rate_limits.take_address_slot →
lua/take_rate_slot.lua, in one round trip with a read of the key's recorded outcome),
and gives that place back when it changed nothing: a copy, or a refusal by the
player's limit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from engine import keys
from engine.clock import from_ms, to_ms
from engine.economy import transactions
from engine.economy.idempotency import IdempotentRequest, is_same_request, recorded_outcome
from engine.economy.transactions import Transaction
from engine.errors import StreakNotRepairableError
from engine.outcomes import ScriptCode, decode
from engine.rules.progression import LoginBonus
from engine.runtime import Engine
from engine.security import rate_limits

ROUTE = "streak_repair"  # the route of its idempotency keys and its ledger kind
RATE_GROUP = "purchases"  # the rules' rate-limit group: a repair is bought
# Answers that are no attempted change: the address's place is given back.
NOT_ATTEMPTED = (ScriptCode.REPLAYED, ScriptCode.KEY_REUSED, ScriptCode.RATE_LIMITED)


@dataclass(frozen=True)
class StreakRepair:
    streak: int
    lost: int
    best: int
    price: dict[str, int]
    transaction: Transaction
    # [{"streak", "reward", "transaction_id"?}]: the milestones the restored days reached,
    # each with what it credited (the balance limit may cut it)
    milestone_bonuses: list[dict] = field(default_factory=list)


def repair(
    engine: Engine, player_id: str, idempotency_key: str, address: str | None = None
) -> StreakRepair:
    """Buy back the player's broken streak, exactly once per key and once per break.

    The call counts in the player's `purchases` window, and with `address` in the
    address's, unless it is a copy of a recorded repair.

    Raises:
        RateLimitedError: the player's limit (scope player) or the address's (scope
            address) is reached and the call is no copy; nothing changed.
        StreakNotRepairableError: no break noted (reason none), repaired already
            (repaired), past its deadline (expired), or the rules offer no repair
            (disabled); nothing changed.
        InsufficientFundsError: the price is more than the player holds; nothing changed.
        IdempotencyKeyReusedError.
    """
    try:
        return _repair(engine, player_id, idempotency_key, address)
    except StreakNotRepairableError as refused:
        _deadline_as_time(refused)
        raise


def _deadline_as_time(refused: StreakNotRepairableError) -> None:
    """An `expired` refusal's deadline as the day's state shows it (ISO 8601, UTC): the
    script answers, and records, the milliseconds the streak hash keeps."""
    deadline = refused.details.get("repair_by")
    if isinstance(deadline, int):
        refused.details["repair_by"] = from_ms(deadline).isoformat()


def _repair(
    engine: Engine, player_id: str, idempotency_key: str, address: str | None
) -> StreakRepair:
    request = IdempotentRequest.of(ROUTE, idempotency_key, {})
    rules = engine.rules.streak_repair
    if rules is None:
        outcome = recorded_outcome(engine, player_id, request)  # a replay keeps its answer
        if outcome is None:
            raise StreakNotRepairableError(
                "There is no broken streak to repair (disabled).", {"reason": "disabled"}
            )
        return _repair_of(engine, outcome, replayed=True)
    idempotency = request.redis_key(player_id)
    taken = rate_limits.take_address_slot(
        engine,
        RATE_GROUP,
        address,
        lambda pipe: pipe.get(idempotency),
        partial(_is_recorded, request.fingerprint),
        request_name=idempotency,  # copies share one place
    )
    args: list[Any] = [
        player_id,
        to_ms(engine.clock.now()),
        engine.rules.limits.max_balance,
        request.fingerprint,
        engine.idempotency_ttl_seconds,
        request.reference,
        engine.ledger_keep_entries,
        rules.resource,
        rules.base,
        rules.per_day,
        rules.max_price,
        *_player_limit(engine),
        RATE_GROUP,
        engine.rules.login_bonus.milestone_every,
        json.dumps(milestone_extra(engine.rules.login_bonus), separators=(",", ":")),
    ]
    script_keys = [
        keys.wallet(player_id),
        keys.ledger(player_id),
        keys.player_outbox(player_id),
        idempotency,
        keys.streak(player_id),
        keys.player_rate_window(player_id, RATE_GROUP),
    ]
    code, payload = taken.run_script(engine, "repair_streak", script_keys, args, NOT_ATTEMPTED)
    outcome = json.loads(payload)
    answer = decode(code, outcome, reused=transactions.key_reused(idempotency_key))
    return _repair_of(engine, outcome, replayed=answer is ScriptCode.REPLAYED)


def milestone_extra(bonus: LoginBonus) -> dict[str, int]:
    """What a milestone day's bonus pays beyond an ordinary day's, resource by resource
    (none where the ordinary day pays as much): what a repair pays for a restored day
    that is a milestone, whose claim paid an ordinary day."""
    extra = {
        resource: amount - bonus.reward.get(resource, 0)
        for resource, amount in bonus.milestone_reward.items()
    }
    return {resource: amount for resource, amount in sorted(extra.items()) if amount > 0}


def _player_limit(engine: Engine) -> tuple[int, int, str]:
    """The player's limit of RATE_GROUP as the script takes it: count, window (ms) and
    text; (0, 0, "") when the rules set none."""
    limit = engine.rules.security.limits_for(RATE_GROUP).player
    if limit is None:
        return 0, 0, ""
    window = rate_limits.window_of(limit)
    return window.count, window.window_ms, window.text


def _is_recorded(fingerprint: str, reply: Any) -> bool:
    """Whether the key's outcome is recorded, for this request (a reuse of the key with
    another request is refused by the script anyway)."""
    return reply is not None and is_same_request(json.loads(reply), fingerprint)


def _repair_of(engine: Engine, outcome: dict, replayed: bool) -> StreakRepair:
    """A recorded outcome as the repair it made, or its refusal raised."""
    transaction = transactions.outcome_to_transaction(engine, outcome, replayed=replayed)
    return StreakRepair(
        streak=int(outcome["streak"]),
        lost=int(outcome["lost"]),
        best=int(outcome["best"]),
        price={resource: -delta for resource, delta in transaction.deltas.items()},
        transaction=transaction,
        # a record rebuilt from SQL (engine.ops.rebuild_economy) has none: they are
        # ledger entries of their own
        milestone_bonuses=[
            {**paid, "reward": paid["reward"] or {}} for paid in outcome.get("milestones") or []
        ],
    )
