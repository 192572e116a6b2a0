"""The economy through the engine: purchases, grants, wallets and the ledger."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest

from engine import keys
from engine.economy import activity, grants, ledger, purchases, wallet
from engine.errors import (
    IdempotencyKeyReusedError,
    InsufficientFundsError,
    InvalidInputError,
    PriceChangedError,
    UnknownItemError,
)
from tests.conftest import earned


def fund(engine, player, **resources):
    return grants.grant(engine, player, resources, "test funds", f"fund-{resources}")


def ledger_sum(engine, player):
    totals: dict[str, int] = {}
    for entry in ledger.history(engine, player, limit=10_000):
        for resource, delta in entry.deltas.items():
            totals[resource] = totals.get(resource, 0) + delta
    return totals


def test_a_new_player_has_every_resource_at_zero(engine):
    assert wallet.balances(engine, "newcomer") == {
        "coins": 0,
        "logs": 0,
        "steel": 0,
        "bricks": 0,
        "cement": 0,
    }


def test_purchase_charges_the_catalog_price(engine):
    fund(engine, "bob", coins=200)
    bought = purchases.purchase(engine, "bob", "steel", 2, "buy-1")

    assert bought.cost == {"coins": 100}
    assert bought.transaction.deltas == {"coins": -100, "steel": 2}
    progress = bought.transaction.progress
    assert bought.transaction.balances["coins"] == 100 + earned(progress, "coins")
    assert bought.transaction.balances["steel"] == 2 + earned(progress, "steel")
    assert wallet.balances(engine, "bob")["steel"] == 2


def test_purchase_with_the_expected_price_goes_through(engine):
    fund(engine, "bob", coins=50)
    bought = purchases.purchase(engine, "bob", "steel", 1, "buy-1", expected_price={"coins": 50})
    assert bought.transaction.balances["steel"] == 1


def test_purchase_with_a_stale_price_changes_nothing(engine):
    fund(engine, "bob", coins=500)
    with pytest.raises(PriceChangedError) as caught:
        purchases.purchase(engine, "bob", "steel", 1, "buy-1", expected_price={"coins": 5})
    assert caught.value.details["price"] == {"coins": 50}
    assert wallet.balances(engine, "bob")["coins"] == 500


def test_unknown_item(engine):
    with pytest.raises(UnknownItemError):
        purchases.purchase(engine, "bob", "gold", 1, "buy-1")


def test_quantity_above_the_item_maximum(engine):
    fund(engine, "bob", coins=100_000)
    with pytest.raises(InvalidInputError) as caught:
        purchases.purchase(engine, "bob", "steel", 101, "buy-1")
    assert "quantity" in caught.value.details


def test_insufficient_funds_changes_nothing(engine):
    fund(engine, "bob", coins=60)
    with pytest.raises(InsufficientFundsError) as caught:
        purchases.purchase(engine, "bob", "steel", 2, "buy-1")
    assert caught.value.details == {"resource": "coins", "required": 100, "available": 60}
    assert wallet.balances(engine, "bob")["coins"] == 60
    assert len(ledger.history(engine, "bob")) == 1


def test_replay_returns_the_first_result_without_a_second_charge(engine):
    fund(engine, "bob", coins=200)
    first = purchases.purchase(engine, "bob", "steel", 1, "buy-1")
    again = purchases.purchase(engine, "bob", "steel", 1, "buy-1")

    assert again.transaction.replayed
    assert again.transaction.transaction_id == first.transaction.transaction_id
    assert again.transaction.balances == first.transaction.balances
    assert again.transaction.progress == first.transaction.progress
    assert wallet.balances(engine, "bob") == first.transaction.balances
    purchases_made = [e for e in ledger.history(engine, "bob") if e.kind == "purchase"]
    assert len(purchases_made) == 1


def test_a_replayed_refusal_is_the_same_refusal(engine):
    fund(engine, "bob", coins=10)
    with pytest.raises(InsufficientFundsError):
        purchases.purchase(engine, "bob", "steel", 1, "buy-1")
    fund(engine, "bob", coins=1000)
    with pytest.raises(InsufficientFundsError) as caught:
        purchases.purchase(engine, "bob", "steel", 1, "buy-1")
    assert caught.value.details["available"] == 10


def test_same_key_with_another_body_is_refused(engine):
    fund(engine, "bob", coins=500)
    purchases.purchase(engine, "bob", "steel", 1, "buy-1")
    with pytest.raises(IdempotencyKeyReusedError):
        purchases.purchase(engine, "bob", "steel", 2, "buy-1")
    assert wallet.balances(engine, "bob")["steel"] == 1


def test_keys_are_per_player_and_per_route(engine):
    fund(engine, "bob", coins=500)
    fund(engine, "eve", coins=500)
    purchases.purchase(engine, "bob", "steel", 1, "same-key")
    purchases.purchase(engine, "eve", "steel", 1, "same-key")
    grants.grant(engine, "bob", {"logs": 1}, "gift", "same-key")
    kinds = {p: [e.kind for e in ledger.history(engine, p)] for p in ("bob", "eve")}
    assert kinds["bob"].count("purchase") == kinds["eve"].count("purchase") == 1
    assert kinds["bob"].count("grant") == 2  # the funding and the gift


def test_replay_survives_a_price_change(engine):
    fund(engine, "bob", coins=500)
    first = purchases.purchase(engine, "bob", "steel", 1, "buy-1", expected_price={"coins": 50})
    steel = dataclasses.replace(
        engine.rules.catalog["steel"], price=MappingProxyType({"coins": 70})
    )
    catalog = dict(engine.rules.catalog, steel=steel)
    engine.rules = dataclasses.replace(engine.rules, catalog=MappingProxyType(catalog))

    again = purchases.purchase(engine, "bob", "steel", 1, "buy-1", expected_price={"coins": 50})
    assert again.transaction.transaction_id == first.transaction.transaction_id
    assert again.cost == {"coins": 50}
    with pytest.raises(PriceChangedError):
        purchases.purchase(engine, "bob", "steel", 1, "buy-2", expected_price={"coins": 50})


def test_idempotency_keys_expire_after_the_configured_ttl(engine):
    engine.idempotency_ttl_seconds = 120
    fund(engine, "bob", coins=100)
    purchases.purchase(engine, "bob", "steel", 1, "buy-1")
    ttl = engine.redis.ttl(keys.idempotency("bob", purchases.ROUTE, "buy-1"))
    assert 110 <= ttl <= 120


def test_grant_may_remove_while_balances_stay_non_negative(engine):
    fund(engine, "bob", coins=100)
    after = grants.grant(engine, "bob", {"coins": -40}, "correction", "fix-1")
    assert after.balances["coins"] == 60
    with pytest.raises(InsufficientFundsError):
        grants.grant(engine, "bob", {"coins": -61}, "correction", "fix-2")
    assert wallet.balances(engine, "bob")["coins"] == 60


@pytest.mark.parametrize(
    "resources",
    [{}, {"gold": 5}, {"coins": 0}, {"coins": 10**9 + 1}, {"coins": -(10**9 + 1)}],
)
def test_invalid_grants_are_refused(engine, resources):
    with pytest.raises(InvalidInputError):
        grants.grant(engine, "bob", resources, "bad", "g-1")
    assert wallet.balances(engine, "bob")["coins"] == 0


def test_ledger_is_newest_first_with_balances_after(engine):
    fund(engine, "bob", coins=200)
    activity.login(engine, "bob")  # the day's bonus and login missions are paid first
    first = purchases.purchase(engine, "bob", "logs", 3, "buy-logs")  # completes buy_1
    purchases.purchase(engine, "bob", "steel", 1, "buy-steel")

    entries = ledger.history(engine, "bob")
    purchase_entries = [entry for entry in entries if entry.kind == "purchase"]
    assert [entry.deltas for entry in purchase_entries] == [
        {"coins": -50, "steel": 1},
        {"coins": -30, "logs": 3},
    ]
    assert entries[-1].kind == "grant"
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)
    # The steel purchase earned nothing more: its entry is the newest and shows the wallet.
    assert entries[0] == purchase_entries[0]
    assert entries[0].balances_after == wallet.balances(engine, "bob")
    assert entries[0].balances_after["coins"] == first.transaction.balances["coins"] - 50
    assert entries[0].at == engine.clock.now()


def test_ledger_pages_with_before(engine):
    fund(engine, "bob", coins=1000)
    for n in range(5):
        purchases.purchase(engine, "bob", "logs", 1, f"buy-{n}")
    everything = ledger.history(engine, "bob", limit=100)
    first_page = ledger.history(engine, "bob", limit=2)
    second_page = ledger.history(engine, "bob", limit=2, before=first_page[-1].transaction_id)
    last_page = ledger.history(engine, "bob", limit=10, before=second_page[-1].transaction_id)

    assert first_page + second_page + last_page == everything
    assert len(everything) >= 6
    assert [e.kind for e in everything].count("purchase") == 5


def test_ledger_sum_equals_balance(engine):
    fund(engine, "bob", coins=300, bricks=2)
    purchases.purchase(engine, "bob", "cement", 4, "buy-1")
    grants.grant(engine, "bob", {"bricks": -1, "steel": 2}, "swap", "g-2")
    with pytest.raises(InsufficientFundsError):
        purchases.purchase(engine, "bob", "steel", 10, "buy-2")

    balances = wallet.balances(engine, "bob")
    sums = ledger_sum(engine, "bob")
    assert {resource: sums.get(resource, 0) for resource in balances} == balances
