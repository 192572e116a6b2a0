"""The per-address window counts every attempted change, refused ones too, and gives its
place back only for a request that attempted none (README, Rate limits)."""

from __future__ import annotations

from tests.conftest import error_of
from tests.test_hot_purchase import tighten

ADDRESS = "198.51.100.7"
LOGS = {"item": "logs", "quantity": 1}


def buy(client, headers, player: str, key: str):
    return client.post(
        f"/v1/players/{player}/purchases",
        headers=headers | {"X-Player-IP": ADDRESS, "Idempotency-Key": key},
        json=LOGS,
    )


def test_purchases_refused_for_want_of_coins_count_in_the_addresss_window(
    app, client, server_headers, admin_headers
):
    tighten(app, "purchases", address="2/minute")
    client.post(
        "/v1/admin/players/carol/grants",
        headers=admin_headers | {"Idempotency-Key": "fund-carol"},
        json={"resources": {"coins": 1000}, "reason": "funds"},
    )
    refused = [buy(client, server_headers, "bob", f"bob-{n}") for n in range(2)]
    assert [error_of(r)["code"] for r in refused] == ["insufficient_funds"] * 2

    third = buy(client, server_headers, "carol", "carol-1")

    assert third.status_code == 429
    assert error_of(third)["code"] == "rate_limited"


def test_a_replay_gives_its_place_back(app, client, server_headers, admin_headers):
    tighten(app, "purchases", address="2/minute")
    client.post(
        "/v1/admin/players/carol/grants",
        headers=admin_headers | {"Idempotency-Key": "fund-carol"},
        json={"resources": {"coins": 1000}, "reason": "funds"},
    )
    first = buy(client, server_headers, "bob", "bob-1")
    again = buy(client, server_headers, "bob", "bob-1")
    assert first.status_code == again.status_code == 409
    assert again.headers["Idempotent-Replayed"] == "true"

    assert buy(client, server_headers, "carol", "carol-1").status_code == 201
