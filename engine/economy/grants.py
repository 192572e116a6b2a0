"""Admin grants: adding or removing resources by hand, exactly once per key."""

from __future__ import annotations

from engine.economy import transactions
from engine.economy.idempotency import IdempotentRequest
from engine.economy.transactions import Transaction
from engine.errors import InvalidInputError
from engine.runtime import Engine

ROUTE = "grant"


def grant(
    engine: Engine,
    player_id: str,
    resources: dict[str, int],
    reason: str,
    idempotency_key: str,
) -> Transaction:
    """Add (or, with negative amounts, remove) resources.

    Negative amounts are allowed only while every balance stays at or above zero.

    Raises:
        InvalidInputError (unknown resource, zero or too large an amount),
        InsufficientFundsError, BalanceLimitError, IdempotencyKeyReusedError.
    """
    _check(engine, resources)  # an admin's mistake: their 400, nothing on the player
    request = IdempotentRequest.of(
        ROUTE, idempotency_key, {"resources": resources, "reason": reason}
    )
    return transactions.apply(
        engine, player_id, kind=ROUTE, deltas=resources, reason=reason, request=request
    )


def _check(engine: Engine, resources: dict[str, int]) -> None:
    limit = engine.rules.limits.max_grant_amount
    problems: dict[str, list[str]] = {}
    if not resources:
        problems["resources"] = ["Name at least one resource."]
    for resource, amount in resources.items():
        if resource not in engine.rules.resources:
            problems[f"resources.{resource}"] = ["Unknown resource."]
        elif amount == 0 or abs(amount) > limit:
            problems[f"resources.{resource}"] = [f"Must be non-zero, between -{limit} and {limit}."]
    if problems:
        raise InvalidInputError("The grant is not valid.", problems)
