"""Streak repair over HTTP: POST /v1/players/{id}/streak/repair and the offer in the
day's state (GET /v1/players/{id}/daily)."""

from __future__ import annotations

import dataclasses

import pytest

from engine.rules.progression import StreakRepair
from tests.conftest import error_of

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis

REPAIR = "/v1/players/alice/streak/repair"
DAILY = "/v1/players/alice/daily"


@pytest.fixture
def repairing(app):
    engine = app.extensions["questboard.engine"]
    engine.rules = dataclasses.replace(
        engine.rules, streak_repair=StreakRepair("coins", base=50, per_day=10, max_price=500)
    )
    return app


def login(client, headers):
    response = client.post("/v1/players/alice/login", headers=headers)
    assert response.status_code == 200
    return response.get_json()


def broken_streak(client, headers, clock, days=3):
    """`days` claimed in a row, one missed, then the claim that restarts the streak."""
    for _ in range(days):
        login(client, headers)
        clock.advance(days=1)
    clock.advance(days=1)
    assert login(client, headers)["streak"] == 1


def fund(client, admin_headers, coins=1000):
    response = client.post(
        "/v1/admin/players/alice/grants",
        headers=admin_headers | {"Idempotency-Key": f"fund-{coins}"},
        json={"resources": {"coins": coins}, "reason": "funds"},
    )
    assert response.status_code == 201
    return response.get_json()["balances"]["coins"]


def repair(client, headers, key="r-1"):
    return client.post(REPAIR, headers=headers | {"Idempotency-Key": key})


def kinds(client, headers):
    entries = client.get("/v1/players/alice/ledger", headers=headers).get_json()["entries"]
    return [entry["kind"] for entry in entries]


def test_the_day_shows_the_offer_and_a_repair_restores_the_streak_once(
    repairing, client, server_headers, admin_headers, clock
):
    broken_streak(client, server_headers, clock)
    offer = client.get(DAILY, headers=server_headers).get_json()["streak_repair"]
    assert offer == {
        "lost": 3,
        "streak": 4,
        "price": {"coins": 80},
        "repair_by": "2026-11-30T03:00:00+00:00",  # 24 h after the 28th's game day ended
    }
    coins = fund(client, admin_headers)

    first = repair(client, server_headers)
    again = repair(client, server_headers)

    assert first.status_code == again.status_code == 201
    body = first.get_json()
    assert (body["streak"], body["lost"], body["best"], body["price"]) == (4, 3, 4, {"coins": 80})
    assert body["balances"]["coins"] == coins - 80
    assert again.get_json() == body
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert kinds(client, admin_headers).count("streak_repair") == 1
    day = client.get(DAILY, headers=server_headers).get_json()
    assert (day["login"]["streak"], day["streak_repair"]) == (4, None)


def test_a_second_repair_of_the_same_break_409(
    repairing, client, server_headers, admin_headers, clock
):
    broken_streak(client, server_headers, clock)
    fund(client, admin_headers)
    assert repair(client, server_headers).status_code == 201
    response = repair(client, server_headers, key="r-2")
    assert response.status_code == 409
    assert error_of(response)["code"] == "streak_not_repairable"
    assert error_of(response)["details"] == {"reason": "repaired"}


def test_a_repair_after_the_deadline_409_and_nothing_changes(
    repairing, client, server_headers, admin_headers, clock
):
    broken_streak(client, server_headers, clock)
    coins = fund(client, admin_headers)
    clock.advance(days=1, seconds=1)
    response = repair(client, server_headers)
    assert response.status_code == 409
    assert error_of(response)["details"]["reason"] == "expired"
    wallet = client.get("/v1/players/alice/wallet", headers=server_headers).get_json()
    assert wallet["balances"]["coins"] == coins
    assert client.get(DAILY, headers=server_headers).get_json()["streak_repair"] is None


def test_a_repair_short_of_funds_409_and_nothing_changes(repairing, client, server_headers, clock):
    broken_streak(client, server_headers, clock)
    response = repair(client, server_headers)
    assert response.status_code == 409
    assert error_of(response)["code"] == "insufficient_funds"
    assert error_of(response)["details"]["required"] == 80
    day = client.get(DAILY, headers=server_headers).get_json()
    assert (day["login"]["streak"], day["streak_repair"]["lost"]) == (1, 3)


def test_repair_is_off_by_default_409(client, server_headers, admin_headers, clock):
    broken_streak(client, server_headers, clock)
    fund(client, admin_headers)
    assert client.get(DAILY, headers=server_headers).get_json()["streak_repair"] is None
    response = repair(client, server_headers)
    assert response.status_code == 409
    assert error_of(response)["details"] == {"reason": "disabled"}


def test_a_repair_needs_an_idempotency_key_400(repairing, client, server_headers):
    response = client.post(REPAIR, headers=server_headers)
    assert response.status_code == 400
    assert "Idempotency-Key" in error_of(response)["details"]
