"""A refused purchase, ad reward, grant or streak repair retried with its Idempotency-Key
after Redis was lost and `questboard rebuild` ran is answered with its first refusal
(Idempotent-Replayed), not carried out: the player may have the coins now, or a new
day's ads, and a retry must never do what the first request did not. Its record reaches
SQL through the outbox, as a keyed login's that claimed nothing does."""

from __future__ import annotations

import pytest

from engine.ops import persistence, rebuild
from tests.test_http_streak_repair import REPAIR, broken_streak, fund, offer_repair

pytestmark = pytest.mark.app_on_both_backends

BUY = "/v1/players/alice/purchases"


def lose_redis_and_rebuild(app) -> None:
    engine = app.extensions["questboard.engine"]
    persistence.persist(engine)
    engine.redis.flushdb()
    rebuild.rebuild(engine)


def test_a_purchase_refused_for_want_of_coins_is_refused_again_after_a_rebuild(
    app, client, server_headers, admin_headers
):
    headers = server_headers | {"Idempotency-Key": "order-1"}
    first = client.post(BUY, headers=headers, json={"item": "steel", "quantity": 1})
    assert first.status_code == 409
    lose_redis_and_rebuild(app)
    client.post(
        "/v1/admin/players/alice/grants",
        headers=admin_headers | {"Idempotency-Key": "funds"},
        json={"resources": {"coins": 1000}, "reason": "funds"},
    )
    wallet = client.get("/v1/players/alice/wallet", headers=server_headers).get_json()

    retry = client.post(BUY, headers=headers, json={"item": "steel", "quantity": 1})

    assert (retry.status_code, retry.get_json()) == (409, first.get_json())
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert client.get("/v1/players/alice/wallet", headers=server_headers).get_json() == wallet


def test_an_ad_reward_refused_past_the_days_cap_is_refused_again_after_a_rebuild(
    app, client, server_headers, clock
):
    engine = app.extensions["questboard.engine"]
    cap = engine.rules.ads.daily_cap
    for n in range(cap):
        ad = client.post(
            "/v1/players/alice/ad-rewards",
            headers=server_headers | {"Idempotency-Key": f"ad-{n}"},
            json={},
        )
        assert ad.status_code == 201
    headers = server_headers | {"Idempotency-Key": "ad-one-too-many"}
    first = client.post("/v1/players/alice/ad-rewards", headers=headers, json={})
    assert first.get_json()["error"]["code"] == "daily_limit_reached"
    lose_redis_and_rebuild(app)
    clock.advance(days=1)  # a new day: its ads are not watched yet
    wallet = client.get("/v1/players/alice/wallet", headers=server_headers).get_json()

    retry = client.post("/v1/players/alice/ad-rewards", headers=headers, json={})

    assert (retry.status_code, retry.get_json()) == (first.status_code, first.get_json())
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert client.get("/v1/players/alice/wallet", headers=server_headers).get_json() == wallet


def test_a_grant_refused_for_want_of_coins_is_refused_again_after_a_rebuild(
    app, client, server_headers, admin_headers
):
    grant = "/v1/admin/players/alice/grants"
    headers = admin_headers | {"Idempotency-Key": "take-back"}
    body = {"resources": {"coins": -100}, "reason": "take back"}
    first = client.post(grant, headers=headers, json=body)
    assert first.get_json()["error"]["code"] == "insufficient_funds"
    lose_redis_and_rebuild(app)
    client.post(
        grant,
        headers=admin_headers | {"Idempotency-Key": "funds"},
        json={"resources": {"coins": 1000}, "reason": "funds"},
    )
    wallet = client.get("/v1/players/alice/wallet", headers=server_headers).get_json()

    retry = client.post(grant, headers=headers, json=body)

    assert (retry.status_code, retry.get_json()) == (first.status_code, first.get_json())
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert client.get("/v1/players/alice/wallet", headers=server_headers).get_json() == wallet


def test_a_streak_repair_refused_for_want_of_coins_is_refused_again_after_a_rebuild(
    app, client, server_headers, admin_headers, clock
):
    offer_repair(app)
    broken_streak(client, server_headers, clock)
    headers = server_headers | {"Idempotency-Key": "repair-1"}
    first = client.post(REPAIR, headers=headers)
    assert first.get_json()["error"]["code"] == "insufficient_funds"
    lose_redis_and_rebuild(app)
    fund(client, admin_headers)
    wallet = client.get("/v1/players/alice/wallet", headers=server_headers).get_json()

    retry = client.post(REPAIR, headers=headers)

    assert (retry.status_code, retry.get_json()) == (first.status_code, first.get_json())
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert client.get("/v1/players/alice/wallet", headers=server_headers).get_json() == wallet
