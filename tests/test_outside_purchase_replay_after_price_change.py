"""A purchase replayed after the catalog's price of its item changed answers what was
first answered, byte for byte: the cost paid, not the price the catalog asks now."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis

PLAYER = "alice"


def reprice(app, item_id: str, price: dict[str, int]) -> None:
    engine = app.extensions["questboard.engine"]
    catalog = dict(engine.rules.catalog)
    catalog[item_id] = dataclasses.replace(catalog[item_id], price=MappingProxyType(price))
    engine.rules = dataclasses.replace(engine.rules, catalog=MappingProxyType(catalog))


def buy(client, headers, key: str, body: dict):
    response = client.post(
        f"/v1/players/{PLAYER}/purchases", headers=headers | {"Idempotency-Key": key}, json=body
    )
    return response.status_code, response.get_data(), response.headers.get("Idempotent-Replayed")


@pytest.mark.parametrize(
    "body",
    [{"item": "logs", "quantity": 2}, {"quantity": 2, "item": "logs"}],
    ids=["plain", "through the schema"],  # another field order: Flask's path
)
def test_a_purchase_replayed_after_a_price_change_answers_the_cost_first_paid(
    app, client, server_headers, admin_headers, body
):
    client.post(
        f"/v1/admin/players/{PLAYER}/grants",
        headers=admin_headers | {"Idempotency-Key": "fund"},
        json={"resources": {"coins": 1000}, "reason": "funding"},
    )
    status, first, _ = buy(client, server_headers, "p1", body)
    buy(client, server_headers, "p2", body)  # a purchase that pays no bonus or mission

    reprice(app, "logs", {"coins": 99})
    again = buy(client, server_headers, "p1", body)
    plain_again = buy(client, server_headers, "p2", body)

    assert status == 201 and b'"cost":{"coins":20}' in first
    assert again == (201, first, "true")
    assert b'"cost":{"coins":20}' in plain_again[1] and plain_again[2] == "true"
