"""Rate limits, replay protection and strict input through HTTP."""

from __future__ import annotations

import dataclasses

import pytest

from tests.conftest import EXAM, error_of

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis


@pytest.fixture
def limiter_time(clock):
    """Every rate-limit window runs on the engine clock: the test's."""
    return clock


# Rate limits ------------------------------------------------------------------------


def test_purchases_are_limited_to_10_a_minute_per_player(
    client, server_headers, admin_headers, limiter_time
):
    funds = client.post(
        "/v1/admin/players/alice/grants",
        headers=admin_headers | {"Idempotency-Key": "f"},
        json={"resources": {"coins": 10_000}, "reason": "funds"},
    )
    assert funds.status_code == 201

    def buy(n, player="alice"):
        limiter_time.advance(seconds=2)  # slower than rapid fire, faster than the limit
        return client.post(
            f"/v1/players/{player}/purchases",
            headers=server_headers | {"Idempotency-Key": f"b-{n}"},
            json={"item": "logs", "quantity": 1},
        )

    bought = [buy(n) for n in range(10)]
    assert [response.status_code for response in bought] == [201] * 10
    coins = bought[-1].get_json()["balances"]["coins"]
    limited = buy(10)  # at 22 s; the first of the ten (at 2 s) leaves the window at 62 s
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "40"
    assert error_of(limited) == {
        "code": "rate_limited",
        "message": "Too many requests: the limit is 10/minute per player.",
        "details": {
            "group": "purchases",
            "limit": "10/minute",
            "retry_after": 40,
            "scope": "player",
        },
    }
    # Another player is not limited: bob, who has no coins, is refused for that alone.
    unfunded = buy(11, player="bob")
    assert unfunded.status_code == 409
    assert error_of(unfunded)["code"] == "insufficient_funds"
    limiter_time.advance(seconds=40)
    again = buy(12)
    assert again.status_code == 201
    assert again.get_json()["balances"]["coins"] == coins - 10  # the refused one cost nothing


def test_a_player_address_is_limited_across_players(client, server_headers, limiter_time):
    statuses = []
    for n in range(31):
        limiter_time.advance(seconds=1)
        statuses.append(
            client.post(
                f"/v1/players/p{n}/login", headers=server_headers | {"X-Player-IP": "198.51.100.1"}
            ).status_code
        )
    assert statuses[:30] == [200] * 30  # login: 300/minute per address, 30/minute per player
    # the per-player login limit never applied: each login was a different player
    assert statuses[30] == 200


def test_the_per_address_limit_holds(app, client, server_headers, limiter_time, monkeypatch):
    engine = app.extensions["questboard.engine"]
    security = engine.rules.security
    tight = dataclasses.replace(security.rate_limits["login"], address="3/minute")
    engine.rules = dataclasses.replace(
        engine.rules,
        security=dataclasses.replace(
            security, rate_limits={**security.rate_limits, "login": tight}
        ),
    )
    codes = []
    for n in range(4):
        limiter_time.advance(seconds=1)
        codes.append(
            client.post(
                f"/v1/players/p{n}/login", headers=server_headers | {"X-Player-IP": "198.51.100.1"}
            ).status_code
        )
    assert codes == [200, 200, 200, 429]


# Replay protection ------------------------------------------------------------------


STATE_CHANGING = [
    ("POST", "/v1/players/alice/purchases", {"item": "logs", "quantity": 1}),
    ("POST", "/v1/players/alice/ad-rewards", None),
    ("POST", "/v1/admin/players/alice/grants", {"resources": {"coins": 5}, "reason": "x"}),
]


@pytest.mark.parametrize(("method", "path", "body"), STATE_CHANGING)
def test_state_changes_need_an_idempotency_key(client, admin_headers, method, path, body):
    response = client.open(path, method=method, headers=admin_headers, json=body)
    assert response.status_code == 400
    assert "Idempotency-Key" in error_of(response)["details"]


@pytest.mark.parametrize(("method", "path", "body"), STATE_CHANGING)
def test_every_state_change_replays(client, admin_headers, method, path, body):
    client.post(
        "/v1/admin/players/alice/grants",
        headers=admin_headers | {"Idempotency-Key": "funds"},
        json={"resources": {"coins": 1000}, "reason": "funds"},
    )
    headers = admin_headers | {"Idempotency-Key": "replay-1"}
    first = client.open(path, method=method, headers=headers, json=body)
    again = client.open(path, method=method, headers=headers, json=body)
    assert first.status_code == 201
    assert (again.status_code, again.get_json()) == (first.status_code, first.get_json())
    ledger = client.get("/v1/players/alice/ledger?limit=200", headers=admin_headers).get_json()
    kinds = [e["kind"] for e in ledger["entries"]]
    assert kinds.count(
        {"purchases": "purchase", "ad-rewards": "ad_reward"}.get(path.rsplit("/", 1)[1], "grant")
    ) == (2 if "grants" in path else 1)


def test_natural_keys_replay(client, server_headers):
    first = client.post("/v1/players/alice/exams", headers=server_headers, json=EXAM)
    again = client.post("/v1/players/alice/exams", headers=server_headers, json=EXAM)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    login = client.post("/v1/players/alice/login", headers=server_headers)
    assert login.get_json()["claimed"] is False  # the exam already claimed the day


def test_every_player_state_route_is_protected(client):
    """Each route that changes player state takes an Idempotency-Key or a natural key."""
    natural = {
        "/v1/players/{player_id}/exams",  # the exam_id
        "/v1/players/{player_id}/settings",  # a PUT: repeated, it sets the same zone
        "/v1/admin/players/{player_id}/leaderboards",  # a removal: repeated, it removes nothing
    }
    keyed = set()
    paths = client.get("/openapi.json").get_json()["paths"]
    for path, operations in paths.items():
        if "{player_id}" not in path:
            continue
        for method, operation in operations.items():
            if method not in ("post", "put", "patch", "delete"):
                continue
            headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            if "Idempotency-Key" in headers:
                keyed.add(path)
            else:
                assert path in natural, path
    assert keyed == {
        "/v1/players/{player_id}/purchases",
        "/v1/players/{player_id}/ad-rewards",
        "/v1/admin/players/{player_id}/grants",
        "/v1/players/{player_id}/streak/repair",
        "/v1/players/{player_id}/login",  # optional: without one, the game day
    }


# Input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [("/v1/players/alice/exams", EXAM), ("/v1/admin/bans", {"ip": "1.2.3.4", "reason": "x"})],
)
def test_oversized_and_malformed_bodies(client, admin_headers, path, body):
    huge = client.post(
        path,
        headers=admin_headers,
        data=b'{"a": "' + b"x" * 20_000 + b'"}',
        content_type="application/json",
    )
    assert huge.status_code == 413
    broken = client.post(path, headers=admin_headers, data=b"{", content_type="application/json")
    assert broken.status_code == 400
    assert error_of(broken)["code"] == "validation_error"


# What is never counted: replays and calls that change nothing -------------------------


def with_limits(app, group, **limits):
    engine = app.extensions["questboard.engine"]
    security = engine.rules.security
    tight = dataclasses.replace(security.rate_limits[group], **limits)
    engine.rules = dataclasses.replace(
        engine.rules,
        security=dataclasses.replace(security, rate_limits={**security.rate_limits, group: tight}),
    )


def test_logins_of_a_claimed_day_are_never_counted_or_refused(
    client, server_headers, admin_headers, limiter_time
):
    headers = server_headers | {"X-Player-IP": "198.51.100.1"}
    first = client.post("/v1/players/alice/login", headers=headers)
    assert (first.status_code, first.get_json()["claimed"]) == (200, True)
    for _ in range(40):  # login: 30 a minute per player, 8 changes a second
        again = client.post("/v1/players/alice/login", headers=headers)
        assert again.status_code == 200
        assert (again.get_json()["claimed"], again.get_json()["streak"]) == (False, 1)
        assert again.get_json()["balances"] == first.get_json()["balances"]
    events = client.get("/v1/admin/security/events", headers=admin_headers).get_json()
    assert events == {"events": []}


def test_replays_are_answered_past_the_limits_and_never_counted(
    app, client, server_headers, admin_headers, limiter_time
):
    with_limits(app, "purchases", player="3/minute", address="4/minute")
    for player in ("alice", "bob"):
        client.post(
            f"/v1/admin/players/{player}/grants",
            headers=admin_headers | {"Idempotency-Key": "f"},
            json={"resources": {"coins": 1000}, "reason": "funds"},
        )

    def buy(key, player="alice"):
        limiter_time.advance(seconds=1)
        return client.post(
            f"/v1/players/{player}/purchases",
            headers=server_headers | {"Idempotency-Key": key, "X-Player-IP": "198.51.100.1"},
            json={"item": "logs", "quantity": 1},
        )

    first = buy("b-0")
    for _ in range(5):  # replays before the limit is reached count nothing
        assert buy("b-0").get_json() == first.get_json()
    assert [buy(f"b-{n}").status_code for n in (1, 2)] == [201, 201]
    over = buy("b-3")
    assert (over.status_code, error_of(over)["details"]["scope"]) == (429, "player")
    assert buy("c-0", player="bob").status_code == 201  # the refused one took no place
    other = buy("c-1", player="bob")
    assert (other.status_code, error_of(other)["details"]["scope"]) == (429, "address")
    for n in range(3):  # past both limits, every replay still gets its first answer
        replay = buy(f"b-{n}")
        assert replay.status_code == 201
        assert replay.headers["Idempotent-Replayed"] == "true"
    wallet = client.get("/v1/players/alice/wallet", headers=admin_headers).get_json()
    assert wallet["balances"]["logs"] == 3 + 1  # three purchases and the login bonus


def test_an_exam_replay_is_answered_past_the_limit(app, client, server_headers, limiter_time):
    with_limits(app, "exams", player="2/minute")
    first = client.post("/v1/players/alice/exams", headers=server_headers, json=EXAM)
    limiter_time.advance(seconds=1)
    second = client.post(
        "/v1/players/alice/exams", headers=server_headers, json=EXAM | {"exam_id": "e2"}
    )
    limiter_time.advance(seconds=1)
    third = client.post(
        "/v1/players/alice/exams", headers=server_headers, json=EXAM | {"exam_id": "e3"}
    )
    assert [r.status_code for r in (first, second, third)] == [201, 201, 429]
    assert error_of(third)["code"] == "rate_limited"
    replay = client.post("/v1/players/alice/exams", headers=server_headers, json=EXAM)
    assert (replay.status_code, replay.get_json()) == (200, first.get_json())
