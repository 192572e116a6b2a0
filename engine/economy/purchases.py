"""Purchases: buying catalog items at the server's price, exactly once per key.

`purchase` checks the item, the quantity and the expected price here, then calls
engine.economy.activity.record → lua/record_activity.lua, whose wallet include
(lua/include/wallet.lua) debits the price and credits the items in one atomic call,
each change with its ledger entry.

A purchase is player activity: it may claim the day's login bonus and advances the
`purchase` missions, in the same atomic step (engine.economy.activity).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from engine.economy import activity, transactions
from engine.economy.idempotency import IdempotentRequest, fingerprint, recorded_outcome
from engine.economy.transactions import Transaction
from engine.errors import InvalidInputError, PriceChangedError, UnknownItemError
from engine.rules import CatalogItem
from engine.runtime import Engine

ROUTE = "purchase"


@dataclass(frozen=True)
class Purchase:
    item: str
    quantity: int
    cost: dict[str, int]
    transaction: Transaction


def purchase(
    engine: Engine,
    player_id: str,
    item_id: str,
    quantity: int,
    idempotency_key: str,
    expected_price: dict[str, int] | None = None,
    address: str | None = None,
) -> Purchase:
    """Buy `quantity` units of `item_id`, paying the catalog's price.

    `expected_price` is the unit price the client showed the player; when given and
    different from the catalog's, nothing is bought (the player saw a stale price).

    Raises:
        UnknownItemError, InvalidInputError (quantity above the item's maximum),
        PriceChangedError, InsufficientFundsError, IdempotencyKeyReusedError.
    """
    if expected_price is None and type(item_id) is str and type(quantity) is int:
        request = IdempotentRequest(ROUTE, idempotency_key, _fingerprint(item_id, quantity))
    else:
        request = IdempotentRequest.of(
            ROUTE,
            idempotency_key,
            {"item": item_id, "quantity": quantity, "expected_price": expected_price},
        )
    try:
        item = _check(engine, item_id, quantity, expected_price)
    except (UnknownItemError, InvalidInputError, PriceChangedError):
        # The rules may have changed since this request was first answered: a replay
        # still gets its first answer.
        # A quantity above the item's maximum is the client's mistake, refused as input
        # and never held against the player as fraud.
        outcome = recorded_outcome(engine, player_id, request)
        if outcome is None:
            raise
        transaction = transactions.outcome_to_transaction(engine, outcome, replayed=True)
        return Purchase(item_id, quantity, _paid(transaction), transaction)

    transaction = activity.record(
        engine,
        player_id,
        kind=ROUTE,
        changes=item.deltas(quantity),
        reason=f"{quantity} x {item.item_id}",
        event="purchase",
        request=request,
        address=address,
    )
    # A replay answers the cost first paid, which the catalog's price may no longer be.
    cost = _paid(transaction) if transaction.replayed else item.cost(quantity)
    return Purchase(item=item.item_id, quantity=quantity, cost=cost, transaction=transaction)


def _paid(transaction: Transaction) -> dict[str, int]:
    """The cost a recorded purchase paid: its debits (the item's credits are the rest)."""
    return {name: -delta for name, delta in transaction.deltas.items() if delta < 0}


@lru_cache(maxsize=1024)
def _fingerprint(item_id: str, quantity: int) -> str:
    """The fingerprint of a purchase without an expected price: the same few items and
    quantities come again and again, and JSON and SHA-256 cost about 5 us a purchase.
    Keyed by exact types only (`purchase`): True == 1, but its JSON is another."""
    return fingerprint(ROUTE, {"item": item_id, "quantity": quantity, "expected_price": None})


def _check(
    engine: Engine, item_id: str, quantity: int, expected_price: dict[str, int] | None
) -> CatalogItem:
    item = engine.rules.catalog.get(item_id)
    if item is None:
        raise UnknownItemError(f"There is no item {item_id!r} in the catalog.", {"item": item_id})
    if not 1 <= quantity <= item.max_quantity:
        raise InvalidInputError(
            f"Quantity must be between 1 and {item.max_quantity} for {item_id}.",
            {"quantity": [f"Must be between 1 and {item.max_quantity}."]},
        )
    if expected_price is not None and dict(expected_price) != dict(item.price):
        raise PriceChangedError(
            f"The price of {item_id} is not the price the client expected.",
            {"item": item_id, "price": dict(item.price), "expected_price": expected_price},
        )
    return item
