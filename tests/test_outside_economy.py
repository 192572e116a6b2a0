"""The economy's routes as a game server meets them over HTTP, retries included.

A login may carry an Idempotency-Key, as every other write does: a game server that
lost the answer of a player's first login of the day and sends it again hears the
same answer (the day's bonus with it), told it is a replay, and nothing is paid twice.
An ad whose reward a daily earning cap cut to nothing is answered as the OpenAPI
document describes it, which the Python client reads.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import jsonschema_rs
import pytest
from questboard_client import decode

from engine.rules import RouteLimits
from tests.conftest import error_of
from tests.http_economy import balances, ledger_kinds

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis, Redis and the cluster

LOGIN = "/v1/players/alice/login"


def login(client, headers, key=None):
    return client.post(LOGIN, headers=headers | ({"Idempotency-Key": key} if key else {}))


def test_a_retried_first_login_answers_its_bonus_again_and_pays_it_once(
    client, server_headers, admin_headers
):
    first = login(client, server_headers, key="session-1")
    retry = login(client, server_headers, key="session-1")

    assert first.status_code == retry.status_code == 200
    assert first.get_json()["claimed"] is True
    assert first.get_json()["progress"]["daily_bonus"] is not None
    assert retry.get_json() == first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert ledger_kinds(client, admin_headers).count("login_bonus") == 1
    assert balances(client, server_headers) == first.get_json()["balances"]


def test_a_login_retried_the_next_day_answers_the_first_day_and_claims_nothing(
    client, clock, server_headers, admin_headers
):
    first = login(client, server_headers, key="session-1")
    clock.advance(days=1)

    retry = login(client, server_headers, key="session-1")

    assert retry.status_code == 200
    assert retry.get_json() == first.get_json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert ledger_kinds(client, admin_headers).count("login_bonus") == 1
    # The next day's own login (a new key) claims the next day's bonus.
    next_day = login(client, server_headers, key="session-2")
    assert next_day.get_json()["claimed"] is True
    assert next_day.get_json()["streak"] == 2


def test_a_retried_login_of_a_claimed_day_answers_its_first_answer(client, server_headers):
    login(client, server_headers)  # the day is claimed without a key
    first = login(client, server_headers, key="session-2")
    retry = login(client, server_headers, key="session-2")

    assert first.status_code == retry.status_code == 200
    assert first.get_json()["claimed"] is False
    assert retry.get_json() == first.get_json()
    assert retry.headers["Idempotent-Replayed"] == "true"


def test_a_login_without_a_key_is_served_as_before(client, server_headers):
    first = login(client, server_headers)
    again = login(client, server_headers)

    assert first.get_json()["claimed"] is True
    assert again.get_json()["claimed"] is False
    assert "Idempotent-Replayed" not in first.headers
    assert "Idempotent-Replayed" not in again.headers


def test_a_login_with_a_malformed_key_is_refused_as_a_purchase_is_and_claims_nothing(
    client, server_headers
):
    key = "a" * 129
    response = login(client, server_headers, key=key)
    purchase = client.post(
        "/v1/players/alice/purchases",
        headers=server_headers | {"Idempotency-Key": key},
        json={"item": "steel", "quantity": 1},
    )

    assert response.status_code == 400
    assert list(error_of(response)["details"]) == ["Idempotency-Key"]
    assert error_of(response) == error_of(purchase)
    day = client.get("/v1/players/alice/daily", headers=server_headers).get_json()
    assert day["login"]["claimed"] is False


def test_the_openapi_document_shows_the_logins_optional_key_and_replay_header(client):
    operation = client.get("/openapi.json").get_json()["paths"]["/v1/players/{player_id}/login"][
        "post"
    ]

    [key] = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
    assert key["in"] == "header"
    assert key.get("required", False) is False
    assert "Idempotent-Replayed" in operation["responses"]["200"]["headers"]


def capped(app, kind: str, cap: dict[str, int]) -> None:
    """The app's rules with a daily earning cap of `cap` on rewards of `kind`."""
    engine = app.extensions["questboard.engine"]
    security = engine.rules.security
    caps = dict(security.daily_earning_caps) | {kind: MappingProxyType(cap)}
    engine.rules = dataclasses.replace(
        engine.rules,
        security=dataclasses.replace(security, daily_earning_caps=MappingProxyType(caps)),
    )


def ad_answer_errors(client, body: dict) -> list[str]:
    spec = client.get("/openapi.json").get_json()
    route = spec["paths"]["/v1/players/{player_id}/ad-rewards"]["post"]
    answer = route["responses"]["201"]["content"]["application/json"]
    root = {**answer["schema"], "components": spec["components"]}
    return [e.message for e in jsonschema_rs.Draft202012Validator(root).iter_errors(body)]


def test_an_ad_whose_reward_the_earning_cap_cuts_to_nothing_is_answered_as_documented(
    app, client, clock, server_headers
):
    capped(app, "ad_reward", {"coins": 5})  # one ad's reward a day
    paid = client.post(
        "/v1/players/alice/ad-rewards", headers=server_headers | {"Idempotency-Key": "ad-1"}
    )
    clock.advance(seconds=2)
    cut = client.post(
        "/v1/players/alice/ad-rewards", headers=server_headers | {"Idempotency-Key": "ad-2"}
    )

    assert paid.status_code == cut.status_code == 201
    assert paid.get_json()["reward"] == {"coins": 5}
    body = cut.get_json()
    assert (body["reward"], body["ads_watched"], body["transaction_id"]) == ({}, 2, None)
    assert ad_answer_errors(client, body) == []
    assert decode.ad_reward(body, replayed=False).transaction_id is None  # the Python client


def test_a_login_bonus_the_earning_cap_cuts_answers_what_it_paid(
    app, client, clock, server_headers
):
    capped(app, "login_bonus", {"logs": 5, "steel": 4})
    for _ in range(6):
        assert login(client, server_headers).get_json()["reward"] == {"logs": 1}
        clock.advance(days=1)

    milestone = login(client, server_headers, key="day-7").get_json()  # 10 steel, cut to 4

    assert milestone["streak"] == 7
    assert milestone["reward"] == {"steel": 4}
    assert milestone["progress"]["daily_bonus"]["reward"] == {"steel": 4}
    assert milestone["balances"]["steel"] == 4
    replay = login(client, server_headers, key="day-7")
    assert replay.get_json() == milestone


def test_a_login_bonus_that_does_not_fit_under_the_balance_limit_answers_nothing_paid(
    app, client, server_headers, admin_headers
):
    engine = app.extensions["questboard.engine"]
    limits = dataclasses.replace(engine.rules.limits, max_balance=100)
    engine.rules = dataclasses.replace(engine.rules, limits=limits)
    client.post(
        "/v1/admin/players/alice/grants",
        headers=admin_headers | {"Idempotency-Key": "fill"},
        json={"resources": {"logs": 100}, "reason": "at the limit"},
    )

    answer = login(client, server_headers).get_json()

    assert answer["claimed"] is True  # the day is claimed: the streak goes on
    assert answer["reward"] == {}
    assert answer["progress"]["daily_bonus"]["reward"] == {}
    assert answer["progress"]["daily_bonus"].get("transaction_id") is None
    assert answer["balances"]["logs"] == 100
    assert ledger_kinds(client, admin_headers).count("login_bonus") == 0


def test_a_mission_reward_the_earning_cap_cuts_answers_what_it_paid(
    app, client, server_headers, admin_headers
):
    capped(app, "mission_reward", {"coins": 4})  # buy_1, a mission of the 25th, pays 10
    client.post(
        "/v1/admin/players/alice/grants",
        headers=admin_headers | {"Idempotency-Key": "fund"},
        json={"resources": {"coins": 100}, "reason": "funding"},
    )

    bought = client.post(
        "/v1/players/alice/purchases",
        headers=server_headers | {"Idempotency-Key": "buy-1"},
        json={"item": "logs", "quantity": 1},
    ).get_json()

    [mission] = bought["progress"]["missions"]
    assert (mission["id"], mission["completed"], mission["reward"]) == ("buy_1", True, {"coins": 4})
    assert bought["balances"]["coins"] == 100 - 10 + 4


def test_a_level_reward_the_earning_cap_cuts_answers_what_it_paid(app, client, server_headers):
    capped(app, "level_reward", {"coins": 20})  # level 2 pays 50 coins
    exam = {"exam_id": "big", "category_id": "math", "score": 100}
    answer = client.post(
        "/v1/players/alice/exams",
        headers=server_headers,
        json=exam | {"total_questions": 100, "correct_answers": 100},  # 1,020 XP: level 2
    ).get_json()

    [level] = answer["progress"]["level_rewards"]
    assert (level["level"], level["reward"]) == (2, {"coins": 20})
    assert answer["progress"]["xp"]["levels_gained"] == [2]


def test_a_mission_and_a_level_the_caps_cut_to_nothing_answer_an_empty_reward(
    app, client, server_headers
):
    capped(app, "mission_reward", {"coins": 0})  # exams_3 pays 25 coins: nothing of it
    capped(app, "level_reward", {"coins": 0})  # level 2 pays 50 coins: nothing of it
    exam = {"category_id": "math", "score": 100, "total_questions": 100, "correct_answers": 100}
    answers = []
    for n in ("1", "2", "3"):
        sent = client.post(
            "/v1/players/alice/exams", headers=server_headers, json=exam | {"exam_id": n}
        )
        assert sent.status_code == 201
        answers.append(sent.get_json()["progress"])

    [level] = answers[0]["level_rewards"]  # 1,020 XP: level 2
    assert (level["level"], level["reward"], level.get("transaction_id")) == (2, {}, None)
    [mission] = [m for m in answers[2]["missions"] if m["id"] == "exams_3"]
    assert (mission["completed"], mission["reward"]) == (True, {})
    assert "transaction_id" not in mission


def test_a_keyed_login_of_a_claimed_day_is_never_refused_by_the_address_limit(
    app, client, server_headers
):
    """README: a login of a day already claimed is never counted, never refused."""
    engine = app.extensions["questboard.engine"]
    security = engine.rules.security
    limits = dict(security.rate_limits) | {"login": RouteLimits(player=None, address="2/minute")}
    engine.rules = dataclasses.replace(
        engine.rules,
        security=dataclasses.replace(security, rate_limits=MappingProxyType(limits)),
    )
    address = server_headers | {"X-Player-IP": "203.0.113.7"}
    for player in ("alice", "bob"):  # two claims: the address's window is full
        claim = client.post(f"/v1/players/{player}/login", headers=address)
        assert claim.get_json()["claimed"] is True

    keyed = login(client, address, key="session-2")
    keyless = login(client, address)

    assert (keyed.status_code, keyless.status_code) == (200, 200)
    assert keyed.get_json()["claimed"] is False
    assert keyed.get_json() == keyless.get_json()


def test_an_ad_reward_retried_after_the_daily_cap_changed_answers_its_first_limit(
    app, client, server_headers
):
    engine = app.extensions["questboard.engine"]
    headers = server_headers | {"Idempotency-Key": "ad-1"}
    first = client.post("/v1/players/alice/ad-rewards", headers=headers)
    engine.rules = dataclasses.replace(
        engine.rules, ads=dataclasses.replace(engine.rules.ads, daily_cap=3)
    )

    retry = client.post("/v1/players/alice/ad-rewards", headers=headers)

    assert first.get_json()["ads_limit"] == 5
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.get_json() == first.get_json()
    # a new ad is held to the new cap
    new = client.post(
        "/v1/players/alice/ad-rewards", headers=server_headers | {"Idempotency-Key": "ad-2"}
    )
    assert new.get_json()["ads_limit"] == 3
