"""A purchase's idempotency record carries the fingerprint of its payload, however it
is computed: remembered for the few items and quantities a game sells, or anew."""

from __future__ import annotations

import pytest

from engine.economy import grants, purchases
from engine.economy.idempotency import IdempotentRequest, recorded_outcome
from engine.errors import IdempotencyKeyReusedError


def payload_request(key: str, item: str, quantity, expected_price=None) -> IdempotentRequest:
    payload = {"item": item, "quantity": quantity, "expected_price": expected_price}
    return IdempotentRequest.of("purchase", key, payload)


@pytest.fixture
def funded(engine):
    grants.grant(engine, "bob", {"coins": 10_000}, "test funds", "fund")
    return engine


@pytest.mark.parametrize("times", [1, 2], ids=["first", "remembered"])
def test_a_purchase_is_recorded_under_its_payloads_fingerprint(funded, times):
    for number in range(times):  # the second purchase of the same item and quantity
        purchases.purchase(funded, "bob", "steel", 2, f"buy-{number}")
        request = payload_request(f"buy-{number}", "steel", 2)
        assert recorded_outcome(funded, "bob", request)["code"] == 0


def test_with_an_expected_price_the_fingerprint_is_of_that_payload(funded):
    purchases.purchase(funded, "bob", "steel", 1, "buy-1", expected_price={"coins": 50})
    request = payload_request("buy-1", "steel", 1, {"coins": 50})
    assert recorded_outcome(funded, "bob", request)["code"] == 0
    with pytest.raises(IdempotencyKeyReusedError):  # the same purchase without the price
        purchases.purchase(funded, "bob", "steel", 1, "buy-1")


def test_a_quantity_of_true_is_another_payload_than_one(funded):
    purchases.purchase(funded, "bob", "steel", 1, "buy-1")
    with pytest.raises(IdempotencyKeyReusedError):  # True == 1, but its JSON is `true`
        purchases.purchase(funded, "bob", "steel", True, "buy-1")
    purchases.purchase(funded, "bob", "steel", True, "buy-2")
    assert recorded_outcome(funded, "bob", payload_request("buy-2", "steel", True))
