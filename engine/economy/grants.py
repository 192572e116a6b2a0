"""Admin grants: adding or removing resources by hand, exactly once per key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.economy import transactions
from engine.economy.idempotency import IdempotentRequest, recorded_outcome
from engine.economy.transactions import Transaction
from engine.errors import InvalidInputError, QuestboardError
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
    request = _request(idempotency_key, resources, reason)
    try:
        _check(engine, resources)  # an admin's mistake: their 400, nothing on the player
    except InvalidInputError as error:
        return _recorded(engine, player_id, request, error)
    return transactions.apply(
        engine, player_id, kind=ROUTE, deltas=resources, reason=reason, request=request
    )


@dataclass(frozen=True)
class GrantItem:
    """One grant of a batch, with its own idempotency key."""

    player_id: str
    resources: dict[str, int]
    reason: str
    idempotency_key: str


def grant_batch(engine: Engine, items: Sequence[GrantItem]) -> list[Transaction | QuestboardError]:
    """Many grants, each exactly once per its own key, sent in one round trip (one
    apply_transaction.lua call per item, each on its player's slot); one transaction
    or error per item, in order: a refused item changes nothing and the others count.
    """
    results: list[Transaction | QuestboardError | None] = [None] * len(items)
    batch = engine.scripts.batch()
    sent: list[tuple[int, IdempotentRequest]] = []
    for index, item in enumerate(items):
        request = _request(item.idempotency_key, item.resources, item.reason)
        try:
            _check(engine, item.resources)
        except InvalidInputError as error:
            try:
                results[index] = _recorded(engine, item.player_id, request, error)
            except QuestboardError as refused:
                results[index] = refused
            continue
        script_keys, args = transactions.script_call(
            engine, item.player_id, ROUTE, item.resources, item.reason, request
        )
        batch.call("apply_transaction", script_keys, args)
        sent.append((index, request))
    for (index, request), (code, payload) in zip(
        sent, batch.execute() if sent else [], strict=True
    ):
        try:
            results[index] = transactions.answer_of(engine, request, code, payload)
        except QuestboardError as error:
            results[index] = error
    return results  # type: ignore[return-value]


def _request(idempotency_key: str, resources: dict[str, int], reason: str) -> IdempotentRequest:
    return IdempotentRequest.of(ROUTE, idempotency_key, {"resources": resources, "reason": reason})


def _recorded(
    engine: Engine, player_id: str, request: IdempotentRequest, error: InvalidInputError
) -> Transaction:
    """The first answer to a grant the rules refuse now (they may have changed since it
    was applied: a replay still gets its first answer), else `error` raised.

    Raises:
        InvalidInputError (`error`), a recorded refusal, IdempotencyKeyReusedError.
    """
    outcome = recorded_outcome(engine, player_id, request)
    if outcome is None:
        raise error
    return transactions.outcome_to_transaction(engine, outcome, replayed=True)


def _check(engine: Engine, resources: dict[str, int]) -> None:
    limit = engine.rules.limits.max_grant_amount
    problems: dict[str, list[str]] = {}
    if not resources:
        problems["resources"] = ["Name at least one resource."]
    for resource, amount in resources.items():
        if resource not in engine.rules.wallet_resources:
            problems[f"resources.{resource}"] = ["Unknown resource."]
        elif amount == 0 or abs(amount) > limit:
            problems[f"resources.{resource}"] = [f"Must be non-zero, between -{limit} and {limit}."]
    if problems:
        raise InvalidInputError("The grant is not valid.", problems)
