"""Every answer to a request with an Idempotency-Key is replayed byte for byte, from a
record of the packed layout (lua/include/replay.lua) and from one of the JSON layout
written before it, which lives out its TTL after a deploy; a key reused with another
request is refused from either."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest

from engine import keys
from engine.economy import idempotency, purchases

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis

PLAYER = "alice"
ADDRESS = "198.51.100.7"


def post(client, headers, path: str, key: str, body: dict | None):
    response = client.post(
        f"/v1{path}", headers=headers | {"Idempotency-Key": key}, json=body or {}
    )
    return response.status_code, response.get_data(), response.headers.get("Idempotent-Replayed")


def as_json_layout(store, route: str, key: str) -> bytes:
    """Write the record back in the layout before packing (its JSON), keeping its TTL."""
    record_key = keys.idempotency(PLAYER, route, key)
    stored = store.get(record_key)
    assert stored[:1] == idempotency.BINARY_FP  # packed, the fingerprint as 16 bytes
    ttl = store.ttl(record_key)
    store.set(record_key, idempotency.unpacked(stored), keepttl=True)
    assert store.ttl(record_key) == ttl
    return idempotency.unpacked(stored)


# (route of the record, path, body, another body for the same key, headers' role)
CASES = {
    "grant applied": (
        "grant",
        f"/admin/players/{PLAYER}/grants",
        {"resources": {"coins": 50}, "reason": "gift"},
        {"resources": {"coins": 51}, "reason": "gift"},
        "admin",
    ),
    "grant refused": (
        "grant",
        f"/admin/players/{PLAYER}/grants",
        {"resources": {"coins": -5000}, "reason": "take"},
        {"resources": {"coins": -5001}, "reason": "take"},
        "admin",
    ),
    "purchase applied": (
        "purchase",
        f"/players/{PLAYER}/purchases",
        {"item": "logs", "quantity": 2},
        {"item": "logs", "quantity": 3},
        "server",
    ),
    "purchase refused": (
        "purchase",
        f"/players/{PLAYER}/purchases",
        {"item": "steel", "quantity": 100},
        {"item": "steel", "quantity": 99},
        "server",
    ),
    "ad reward": ("ad_reward", f"/players/{PLAYER}/ad-rewards", None, None, "server"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_answer_is_replayed_byte_for_byte_from_either_layout(
    case, client, store, server_headers, admin_headers
):
    route, path, body, other, role = CASES[case]
    # A player's requests carry their address: a replay's rate slot is given back after
    # its record is read in Python (engine.economy.activity._changes_nothing).
    headers = admin_headers if role == "admin" else server_headers | {"X-Player-IP": ADDRESS}
    post(
        client,
        admin_headers,
        f"/admin/players/{PLAYER}/grants",
        "fund",
        {
            "resources": {"coins": 100},
            "reason": "funding",
        },
    )

    status, first, replayed = post(client, headers, path, "k1", body)
    again = post(client, headers, path, "k1", body)
    recorded = as_json_layout(store, route, "k1")
    from_json = post(client, headers, path, "k1", body)

    assert replayed is None and status in (201, 200, 409)
    assert again == from_json == (status, first, "true")
    assert idempotency.load(recorded)["fp"]
    if other is not None:
        reused = post(client, headers, path, "k1", other)
        assert reused[0] == 422 and b"idempotency_key_reused" in reused[1]


def test_an_ad_reward_over_the_daily_cap_is_replayed_from_either_layout(
    client, store, server_headers
):
    path = f"/players/{PLAYER}/ad-rewards"
    for n in range(5):  # the shipped rules' cap
        assert post(client, server_headers, path, f"ad-{n}", None)[0] == 201

    status, first, _ = post(client, server_headers, path, "ad-over", None)
    again = post(client, server_headers, path, "ad-over", None)
    as_json_layout(store, "ad_reward", "ad-over")
    from_json = post(client, server_headers, path, "ad-over", None)

    assert status == 409 and b"daily_limit_reached" in first
    assert again == from_json and again[:2] == (status, first)


def test_a_purchase_replayed_after_its_item_left_the_catalog_answers_from_either_layout(engine):
    from engine.economy import grants

    grants.grant(engine, PLAYER, {"coins": 500}, "gift", "g1")
    first = purchases.purchase(engine, PLAYER, "logs", 2, "p1")
    packed = purchases.purchase(engine, PLAYER, "logs", 2, "p2")
    catalog = {name: item for name, item in engine.rules.catalog.items() if name != "logs"}
    engine.rules = dataclasses.replace(engine.rules, catalog=MappingProxyType(catalog))
    record_key = keys.idempotency(PLAYER, purchases.ROUTE, "p1")
    engine.redis.set(record_key, idempotency.unpacked(engine.redis.get(record_key)))

    from_json = purchases.purchase(engine, PLAYER, "logs", 2, "p1")
    from_packed = purchases.purchase(engine, PLAYER, "logs", 2, "p2")

    assert from_json.transaction == dataclasses.replace(first.transaction, replayed=True)
    assert from_packed.transaction == dataclasses.replace(packed.transaction, replayed=True)
