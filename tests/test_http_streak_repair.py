"""Streak repair over HTTP: POST /v1/players/{id}/streak/repair and the offer in the
day's state (GET /v1/players/{id}/daily)."""

from __future__ import annotations

import dataclasses

import pytest

from bench.redis_count import sent_commands
from engine import keys
from engine.clock import to_ms
from engine.rules.progression import StreakRepair
from tests.conftest import error_of
from web import create_app

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis

REPAIR = "/v1/players/alice/streak/repair"
DAILY = "/v1/players/alice/daily"


def offer_repair(app):
    engine = app.extensions["questboard.engine"]
    engine.rules = dataclasses.replace(
        engine.rules, streak_repair=StreakRepair("coins", base=50, per_day=10, max_price=500)
    )
    return app


@pytest.fixture
def repairing(app):
    return offer_repair(app)


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
    assert body["milestone_bonuses"] == []
    assert body["balances"]["coins"] == coins - 80
    assert again.get_json() == body
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert kinds(client, admin_headers).count("streak_repair") == 1
    day = client.get(DAILY, headers=server_headers).get_json()
    assert (day["login"]["streak"], day["streak_repair"]) == (4, None)


def test_a_repair_to_a_milestone_day_answers_the_milestone_it_paid(
    repairing, client, server_headers, admin_headers, clock
):
    broken_streak(client, server_headers, clock, days=6)  # restored to 7: a milestone
    fund(client, admin_headers)

    body = repair(client, server_headers).get_json()

    [bonus] = body["milestone_bonuses"]
    assert (body["streak"], bonus["streak"], bonus["reward"]) == (7, 7, {"steel": 10})
    assert body["balances"]["steel"] == 10
    entries = client.get("/v1/players/alice/ledger", headers=server_headers).get_json()
    [paid] = [e for e in entries["entries"] if e["transaction_id"] == bonus["transaction_id"]]
    assert (paid["kind"], paid["deltas"]) == ("login_bonus", {"steel": 10})
    schema = client.get("/openapi.json").get_json()["components"]["schemas"]["StreakRepair"]
    assert "milestone_bonuses" in schema["required"]
    assert "what was credited" in schema["properties"]["milestone_bonuses"]["description"]


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


# The address's rate limit: a repair is a purchase ---------------------------------------

IP = {"X-Player-IP": "198.51.100.9"}


def with_address_limit(app, limit):
    engine = app.extensions["questboard.engine"]
    security = engine.rules.security
    purchases = dataclasses.replace(security.rate_limits["purchases"], address=limit)
    engine.rules = dataclasses.replace(
        engine.rules,
        security=dataclasses.replace(
            security, rate_limits={**security.rate_limits, "purchases": purchases}
        ),
    )


def buy_logs(client, headers, player, key):
    return client.post(
        f"/v1/players/{player}/purchases",
        headers=headers | IP | {"Idempotency-Key": key},
        json={"item": "logs", "quantity": 1},
    )


def test_a_repair_takes_a_place_in_its_address_purchase_window_and_replays_take_none(
    repairing, client, server_headers, admin_headers, clock
):
    broken_streak(client, server_headers, clock)
    fund(client, admin_headers)
    client.post(
        "/v1/admin/players/bob/grants",
        headers=admin_headers | {"Idempotency-Key": "fund-bob"},
        json={"resources": {"coins": 1000}, "reason": "funds"},
    )
    with_address_limit(repairing, "2/minute")

    first = repair(client, server_headers | IP)
    for _ in range(4):  # copies of the repair count nothing
        clock.advance(seconds=1)
        assert repair(client, server_headers | IP).get_json() == first.get_json()
    assert buy_logs(client, server_headers, "bob", "b-1").status_code == 201
    over = buy_logs(client, server_headers, "bob", "b-2")
    replay = repair(client, server_headers | IP)  # past the limit, a copy keeps its answer

    assert first.status_code == 201
    assert (over.status_code, error_of(over)["details"]) == (
        429,
        {"limit": "2/minute", "scope": "address", "group": "purchases", "retry_after": 56},
    )
    assert (replay.status_code, replay.headers["Idempotent-Replayed"]) == (201, "true")


def test_a_repair_from_an_address_at_its_limit_429_and_nothing_changes(
    repairing, client, server_headers, admin_headers, clock
):
    broken_streak(client, server_headers, clock)
    coins = fund(client, admin_headers)
    with_address_limit(repairing, "1/minute")
    assert buy_logs(client, server_headers, "alice", "p-1").status_code == 201

    response = repair(client, server_headers | IP)
    without_address = repair(client, server_headers, key="r-2")

    assert (response.status_code, error_of(response)["details"]["scope"]) == (429, "address")
    assert without_address.status_code == 201  # the limit is the address's, not the player's
    assert without_address.get_json()["balances"]["coins"] == coins - 10 - 80


def test_with_an_address_a_repair_and_its_replay_are_two_round_trips(
    settings, real_redis, clock, server_headers, admin_headers
):
    app = offer_repair(create_app(settings, redis_client=real_redis, clock=clock))
    client = app.test_client()
    broken_streak(client, server_headers, clock)
    fund(client, admin_headers)
    repair(client, server_headers | IP, key="warm-up")  # scripts loaded; the break repaired
    broken_streak(client, server_headers, clock)

    counts = []
    for _ in range(3):
        clock.advance(seconds=0.05)
        with sent_commands() as sent:
            assert repair(client, server_headers | IP).status_code == 201
        counts.append(sent.round_trips)

    assert counts == [2, 2, 2]
    window = keys.address_rate_window("purchases", IP["X-Player-IP"])
    a_day_ago = to_ms(clock.now()) - 86_400_000  # the warm-up's change is days old
    assert real_redis.zcount(window, a_day_ago, "+inf") == 1  # the first: copies count none


# The player's rate limit: a repair counts in their purchases window --------------------


def with_purchase_limits(app, player, address="60/minute"):
    engine = app.extensions["questboard.engine"]
    security = engine.rules.security
    purchases = dataclasses.replace(
        security.rate_limits["purchases"], player=player, address=address
    )
    engine.rules = dataclasses.replace(
        engine.rules,
        security=dataclasses.replace(
            security, rate_limits={**security.rate_limits, "purchases": purchases}
        ),
    )


def broken_streaks(client, headers, clock, players):
    """Each player claims 3 days in a row, misses one, then restarts their streak."""
    for _ in range(3):
        for player in players:
            assert client.post(f"/v1/players/{player}/login", headers=headers).status_code == 200
        clock.advance(days=1)
    clock.advance(days=1)
    for player in players:
        restarted = client.post(f"/v1/players/{player}/login", headers=headers).get_json()
        assert restarted["streak"] == 1


def repair_of(client, headers, player, key):
    return client.post(
        f"/v1/players/{player}/streak/repair", headers=headers | IP | {"Idempotency-Key": key}
    )


def test_a_players_third_attempt_in_a_minute_is_429_and_another_players_is_not(
    repairing, client, server_headers, admin_headers, clock
):
    broken_streaks(client, server_headers, clock, ("alice", "bob"))
    coins = fund(client, admin_headers)
    client.post(
        "/v1/admin/players/bob/grants",
        headers=admin_headers | {"Idempotency-Key": "fund-bob"},
        json={"resources": {"coins": 1000}, "reason": "funds"},
    )
    with_purchase_limits(repairing, player="2/minute", address="3/minute")

    bought = buy_logs(client, server_headers, "alice", "p-1")  # at 0 s: one of her two
    clock.advance(seconds=10)
    repaired = repair_of(client, server_headers, "alice", "r-1")  # at 10 s: the second
    clock.advance(seconds=10)
    refused = repair_of(client, server_headers, "alice", "r-2")  # at 20 s: over
    bobs = repair_of(client, server_headers, "bob", "r-1")  # the address's third place

    assert (bought.status_code, repaired.status_code, bobs.status_code) == (201, 201, 201)
    assert (refused.status_code, refused.headers["Retry-After"]) == (429, "40")
    assert error_of(refused) == {
        "code": "rate_limited",
        "message": "Too many requests: the limit is 2/minute per player.",
        "details": {
            "group": "purchases",
            "limit": "2/minute",
            "retry_after": 40,
            "scope": "player",
        },
    }
    assert "Idempotent-Replayed" not in refused.headers
    balances = client.get("/v1/players/alice/wallet", headers=server_headers).get_json()
    assert balances["balances"]["coins"] == coins - 10 - 80  # the refused one cost nothing


def test_the_players_window_moves_with_the_engine_clock(
    repairing, client, server_headers, admin_headers, clock
):
    broken_streaks(client, server_headers, clock, ("alice",))
    coins = fund(client, admin_headers)
    with_purchase_limits(repairing, player="1/minute")
    assert buy_logs(client, server_headers, "alice", "p-1").status_code == 201
    clock.advance(seconds=59)
    refused = repair_of(client, server_headers, "alice", "r-1")
    clock.advance(seconds=1)  # the purchase leaves the window
    repaired = repair_of(client, server_headers, "alice", "r-1")  # the refusal was not recorded

    assert (refused.status_code, refused.headers["Retry-After"]) == (429, "1")
    assert repaired.status_code == 201
    assert "Idempotent-Replayed" not in repaired.headers
    assert repaired.get_json()["balances"]["coins"] == coins - 10 - 80


def test_refused_repairs_are_attempts_and_count_but_replays_never_count_or_are_refused(
    repairing, client, server_headers, admin_headers, clock
):
    broken_streaks(client, server_headers, clock, ("alice",))
    with_purchase_limits(repairing, player="2/minute")

    short = repair_of(client, server_headers, "alice", "r-1")  # no coins yet: refused
    fund(client, admin_headers)
    for _ in range(5):  # copies of a recorded refusal count nothing
        clock.advance(seconds=1)
        copy = repair_of(client, server_headers, "alice", "r-1")
        assert (copy.status_code, copy.headers["Idempotent-Replayed"]) == (409, "true")
    repaired = repair_of(client, server_headers, "alice", "r-2")  # the second attempt
    over = repair_of(client, server_headers, "alice", "r-3")
    copies = [repair_of(client, server_headers, "alice", key) for key in ("r-1", "r-2")]

    assert (short.status_code, error_of(short)["code"]) == (409, "insufficient_funds")
    assert repaired.status_code == 201
    assert (over.status_code, error_of(over)["details"]["scope"]) == (429, "player")
    assert [(copy.status_code, copy.headers["Idempotent-Replayed"]) for copy in copies] == [
        (409, "true"),
        (201, "true"),
    ]
    assert copies[1].get_json() == repaired.get_json()
    assert kinds(client, admin_headers).count("streak_repair") == 1
