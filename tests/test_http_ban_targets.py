"""Bans through HTTP, one per target: banning a banned target again returns its ban
(extended), an expired ban is replaced, overlapping bans are each enforced until each
is lifted, the same ban sent from many threads at once is one ban, a duplicate stored
by earlier versions stays enforced when the other is lifted, and the index of bans
forgets records that expired.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import error_of
from tests.http_bans import ban_ip, lift, listed_bans, wallet

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis


def test_banning_a_banned_range_again_returns_that_ban_extended(
    client, server_headers, admin_headers, clock
):
    first = ban_ip(client, admin_headers, "192.0.2.0/24", expires_in_seconds=600)
    clock.advance(seconds=10)
    again = client.post(
        "/v1/admin/bans",
        headers=admin_headers,
        json={"ip": "192.0.2.0/24", "reason": "abuse, again", "expires_in_seconds": 3600},
    )
    assert again.status_code == 200
    extended = first | {"reason": "abuse, again", "expires_at": "2026-11-25T13:00:10+00:00"}
    assert again.get_json() == extended
    assert listed_bans(client, admin_headers) == [extended]
    # An earlier expiry never shortens the ban; no expiry makes it permanent.
    shorter = client.post(
        "/v1/admin/bans",
        headers=admin_headers,
        json={"ip": "192.0.2.0/24", "reason": "third", "expires_in_seconds": 60},
    )
    assert shorter.status_code == 200
    assert shorter.get_json() == extended | {"reason": "third"}
    clock.advance(seconds=3000)
    assert wallet(client, server_headers, address="192.0.2.5").status_code == 403
    permanent = client.post(
        "/v1/admin/bans", headers=admin_headers, json={"ip": "192.0.2.0/24", "reason": "for good"}
    )
    assert permanent.status_code == 200
    assert permanent.get_json() == extended | {"reason": "for good", "expires_at": None}
    clock.advance(days=400)
    assert wallet(client, server_headers, address="192.0.2.5").status_code == 403
    # Lifting it lifts it: nothing listed stays behind, nothing unlisted stays enforced.
    lift(client, admin_headers, first["id"])
    assert listed_bans(client, admin_headers) == []
    assert wallet(client, server_headers, address="192.0.2.5").status_code == 200


def test_an_expired_ban_is_replaced_by_a_new_one(client, server_headers, admin_headers, clock):
    first = ban_ip(client, admin_headers, "192.0.2.0/24", expires_in_seconds=60)
    clock.advance(seconds=61)
    second = ban_ip(client, admin_headers, "192.0.2.0/24")  # 201: a new ban
    assert second["id"] != first["id"]
    assert listed_bans(client, admin_headers) == [second]
    lift(client, admin_headers, second["id"])
    assert wallet(client, server_headers, address="192.0.2.5").status_code == 200


def test_banning_a_banned_player_again_returns_that_ban(client, server_headers, admin_headers):
    body = {"player_id": "mallory", "reason": "bot", "expires_in_seconds": 60}
    first = client.post("/v1/admin/player-bans", headers=admin_headers, json=body)
    assert first.status_code == 201
    again = client.post("/v1/admin/player-bans", headers=admin_headers, json=body)
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert listed_bans(client, admin_headers, "player-bans") == [first.get_json()]
    lift(client, admin_headers, first.get_json()["id"], "player-bans")
    assert client.get("/v1/players/mallory/wallet", headers=server_headers).status_code == 200


def test_overlapping_bans_are_each_enforced_until_each_is_lifted(
    client, server_headers, admin_headers, clock
):
    wide = ban_ip(client, admin_headers, "192.0.0.0/16")
    clock.advance(seconds=1)
    narrow = ban_ip(client, admin_headers, "192.0.2.0/24")
    clock.advance(seconds=1)
    single = ban_ip(client, admin_headers, "192.0.2.5", expires_in_seconds=60)
    assert listed_bans(client, admin_headers) == [single, narrow, wide]

    def banned_by() -> str | None:
        response = wallet(client, server_headers, address="192.0.2.5")
        if response.status_code == 200:
            return None
        assert response.status_code == 403
        return error_of(response)["details"]["ban_id"]

    # The widest network in force answers first; each of the others still holds alone.
    assert banned_by() == wide["id"]
    lift(client, admin_headers, narrow["id"])
    assert banned_by() == wide["id"]
    assert listed_bans(client, admin_headers) == [single, wide]
    clock.advance(seconds=61)  # the single-address ban expires
    assert banned_by() == wide["id"]
    assert listed_bans(client, admin_headers) == [wide]
    lift(client, admin_headers, wide["id"])
    assert banned_by() is None
    assert listed_bans(client, admin_headers) == []


def test_lifting_one_of_overlapping_bans_keeps_the_others(client, server_headers, admin_headers):
    single = ban_ip(client, admin_headers, "192.0.2.5")
    narrow = ban_ip(client, admin_headers, "192.0.2.0/24")
    lift(client, admin_headers, single["id"])
    assert wallet(client, server_headers, address="192.0.2.5").status_code == 403
    assert wallet(client, server_headers, address="192.0.2.77").status_code == 403
    lift(client, admin_headers, narrow["id"])
    assert wallet(client, server_headers, address="192.0.2.5").status_code == 200


def test_the_same_ban_sent_at_once_from_many_threads_is_one_ban(engine):
    from concurrent.futures import ThreadPoolExecutor

    from engine.security import bans

    def ban(n: int) -> str:
        return bans.create(engine, "ip", "192.0.2.0/24", f"abuse {n}", 60 * (n + 1)).ban_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        ban_ids = set(pool.map(ban, range(16)))
    assert len(ban_ids) == 1
    [listed] = bans.listing(engine, "ip")
    assert listed.expires_at == engine.clock.now() + timedelta(seconds=60 * 16)
    bans.delete(engine, "ip", listed.ban_id)
    assert bans.active_ban(engine, None, bans.parse_address("192.0.2.5")) is None


def test_a_duplicate_ban_stored_before_one_ban_per_target_stays_enforced_when_the_other_is_lifted(
    app, client, server_headers, admin_headers, clock
):
    """Earlier versions stored a second ban of a target beside the first, the index
    pointing at the second only; lifting the second must not leave the first listed
    but unenforced."""
    from engine import keys

    redis = app.extensions["questboard.engine"].redis
    field = "4:c0000200/24"  # 192.0.2.0/24
    now_ms = int(clock.now().timestamp() * 1000)
    for ban_id in ("ban_00000000000000a1", "ban_00000000000000a2"):
        redis.hset(
            keys.ban(ban_id),
            mapping={
                "kind": "ip",
                "target": "192.0.2.0/24",
                "reason": ban_id,
                "created_at": now_ms,
                "expires_at": 0,
                "created_by": "admin",
                "field": field,
            },
        )
        redis.zadd(keys.bans_index(), {ban_id: now_ms})
        redis.hset(keys.ip_bans(), field, f"{ban_id}|0")
    lift(client, admin_headers, "ban_00000000000000a2")
    response = wallet(client, server_headers, address="192.0.2.5")
    assert response.status_code == 403
    assert error_of(response)["details"]["ban_id"] == "ban_00000000000000a1"
    assert [ban["id"] for ban in listed_bans(client, admin_headers)] == ["ban_00000000000000a1"]
    lift(client, admin_headers, "ban_00000000000000a1")
    assert wallet(client, server_headers, address="192.0.2.5").status_code == 200
    assert listed_bans(client, admin_headers) == []


def test_the_index_of_bans_forgets_records_that_expired(app, client, admin_headers, clock):
    from engine import keys

    redis = app.extensions["questboard.engine"].redis
    ban = ban_ip(client, admin_headers, "192.0.2.5", expires_in_seconds=60)
    redis.delete(keys.ban(ban["id"]))  # what Redis does a day after the ban expired
    assert listed_bans(client, admin_headers) == []
    assert redis.zrange(keys.bans_index(), 0, -1) == []
