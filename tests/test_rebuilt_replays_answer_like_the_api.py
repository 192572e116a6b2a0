"""A purchase or an ad reward retried after Redis was lost and rebuilt from SQL is answered
from the record the rebuild wrote from its ledger entry: a body of the route's OpenAPI
schema that the Python client reads, with the transaction first made (its balances as
SQL held them), the progress of an event that earned nothing beyond itself, and for an
ad its place among the day's ads."""

from __future__ import annotations

import jsonschema_rs
import pytest
from questboard_client import decode

from engine.ops import persistence, rebuild

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis, Redis, the cluster

PLAYER = "alice"
PURCHASES = "/v1/players/{player_id}/purchases"
AD_REWARDS = "/v1/players/{player_id}/ad-rewards"


def post(client, headers, route: str, key: str, body: dict):
    return client.post(
        route.format(player_id=PLAYER), headers=headers | {"Idempotency-Key": key}, json=body
    )


def schema_errors(client, route: str, body: dict) -> list[str]:
    spec = client.get("/openapi.json").get_json()
    answer = spec["paths"][route]["post"]["responses"]["201"]["content"]["application/json"]
    root = {**answer["schema"], "components": spec["components"]}
    return [e.message for e in jsonschema_rs.Draft202012Validator(root).iter_errors(body)]


def claim_the_days_bonus(client, headers) -> None:
    assert client.post(f"/v1/players/{PLAYER}/login", headers=headers).json["claimed"]


def lose_and_rebuild(app) -> None:
    engine = app.extensions["questboard.engine"]
    persistence.persist(engine)
    engine.redis.flushdb()
    rebuild.rebuild(engine)


def earned(progress: dict) -> dict[str, int]:
    """What an event paid beyond itself: the day's bonus, missions and level rewards."""
    paid: dict[str, int] = {}
    rewards = [progress["daily_bonus"]] if progress["daily_bonus"] else []
    for reward in [*rewards, *progress["missions"], *progress["level_rewards"]]:
        for resource, amount in reward["reward"].items():
            paid[resource] = paid.get(resource, 0) + amount
    return paid


def balances_after(client, headers, transaction_id: str) -> dict[str, int]:
    ledger = client.get(f"/v1/players/{PLAYER}/ledger", headers=headers).json["entries"]
    [entry] = [e for e in ledger if e["transaction_id"] == transaction_id]
    return entry["balances_after"]


@pytest.mark.parametrize(
    "body",
    [{"item": "logs", "quantity": 2}, {"quantity": 2, "item": "logs"}],
    ids=["plain", "through the schema"],  # another field order: Flask's path
)
def test_a_purchase_retried_after_a_rebuild_answers_the_routes_schema(
    app, client, server_headers, admin_headers, body
):
    post(
        client,
        admin_headers,
        "/v1/admin/players/{player_id}/grants",
        "fund",
        {"resources": {"coins": 1000}, "reason": "funding"},
    )
    claim_the_days_bonus(client, server_headers)
    post(client, server_headers, PURCHASES, "p0", body)  # completes the day's buying mission
    first = post(client, server_headers, PURCHASES, "p1", body)  # pays nothing beyond itself
    lose_and_rebuild(app)

    again = post(client, server_headers, PURCHASES, "p1", body)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert schema_errors(client, PURCHASES, again.json) == []
    purchase = decode.purchase(again.json, replayed=True)
    assert purchase.transaction_id == first.json["transaction_id"]
    assert (purchase.item, purchase.quantity) == ("logs", 2)
    assert purchase.cost == first.json["cost"]
    assert purchase.balances == first.json["balances"]
    assert again.json["progress"] == {
        "daily_bonus": None,
        "missions": [],
        "xp": None,
        "level_rewards": [],
        "streak": first.json["progress"]["streak"],
        "freezes_used": 0,
    }


def test_an_ad_reward_retried_after_a_rebuild_answers_the_routes_schema(
    app, client, server_headers
):
    claim_the_days_bonus(client, server_headers)
    first = [post(client, server_headers, AD_REWARDS, f"ad-{n}", {}) for n in (1, 2)]
    own = [balances_after(client, server_headers, ad.json["transaction_id"]) for ad in first]
    lose_and_rebuild(app)

    again = [post(client, server_headers, AD_REWARDS, f"ad-{n}", {}) for n in (1, 2)]

    for before, after, balances in zip(first, again, own, strict=True):
        assert (before.status_code, after.status_code) == (201, 201)
        assert after.headers.get("Idempotent-Replayed") == "true"
        assert schema_errors(client, AD_REWARDS, after.json) == []
        reward = decode.ad_reward(after.json, replayed=True)
        assert reward.transaction_id == before.json["transaction_id"]
        assert reward.reward == before.json["reward"] == {"coins": 5}
        assert (reward.ads_watched, reward.ads_limit) == (
            before.json["ads_watched"],
            before.json["ads_limit"],
        )
        assert reward.balances == balances  # after its own entry (a mission paid after it)
        assert not reward.progress.missions and reward.progress.daily_bonus is None
    assert [reward.json["ads_watched"] for reward in again] == [1, 2]


def test_a_purchase_that_paid_a_mission_answers_the_balances_after_its_own_entry(
    app, client, server_headers, admin_headers
):
    post(
        client,
        admin_headers,
        "/v1/admin/players/{player_id}/grants",
        "fund",
        {"resources": {"coins": 1000}, "reason": "funding"},
    )
    first = post(client, server_headers, PURCHASES, "p1", {"item": "logs", "quantity": 2})
    assert first.json["progress"]["missions"]  # the day's buying mission, paid in its call
    own = balances_after(client, server_headers, first.json["transaction_id"])
    assert own != first.json["balances"]
    lose_and_rebuild(app)

    again = post(client, server_headers, PURCHASES, "p1", {"item": "logs", "quantity": 2})

    assert again.status_code == 201 and schema_errors(client, PURCHASES, again.json) == []
    assert again.json["transaction_id"] == first.json["transaction_id"]
    assert earned(again.json["progress"]) == {}  # the mission's reward: an entry of its own
    assert again.json["balances"] == own  # as SQL holds them after the purchase's entry
