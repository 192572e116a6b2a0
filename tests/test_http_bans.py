"""Bans through HTTP: addresses, ranges (IPv4, IPv6), players, expiry, lifting."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from tests.conftest import error_of

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis


def ban_ip(client, admin_headers, ip, **extra):
    response = client.post(
        "/v1/admin/bans", headers=admin_headers, json={"ip": ip, "reason": "abuse"} | extra
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def wallet(client, headers, player="alice", address=None):
    extra = {"X-Player-IP": address} if address else {}
    return client.get(f"/v1/players/{player}/wallet", headers=headers | extra)


def test_a_banned_address_is_403(client, server_headers, admin_headers):
    ban = ban_ip(client, admin_headers, "203.0.113.7")
    assert ban["target"] == "203.0.113.7/32"
    response = wallet(client, server_headers, address="203.0.113.7")
    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "banned"
    assert error["details"]["reason"] == "abuse"
    assert error["details"]["ban_id"] == ban["id"]
    assert wallet(client, server_headers, address="203.0.113.8").status_code == 200
    assert wallet(client, server_headers).status_code == 200  # no address given


@pytest.mark.parametrize(
    ("network", "inside", "outside"),
    [
        ("203.0.113.0/24", "203.0.113.250", "203.0.114.1"),
        ("10.0.0.0/8", "10.200.3.4", "11.0.0.1"),
        ("2001:db8:1234::/48", "2001:db8:1234:ffff::1", "2001:db8:1235::1"),
        ("2001:db8::1", "2001:db8::1", "2001:db8::2"),
    ],
)
def test_a_banned_range_covers_its_addresses(
    client, server_headers, admin_headers, network, inside, outside
):
    ban_ip(client, admin_headers, network)
    assert wallet(client, server_headers, address=inside).status_code == 403
    assert wallet(client, server_headers, address=outside).status_code == 200


def test_an_ipv4_mapped_address_is_the_ipv4_address(client, server_headers, admin_headers):
    ban_ip(client, admin_headers, "198.51.100.0/24")
    assert wallet(client, server_headers, address="::ffff:198.51.100.9").status_code == 403


def test_a_ban_expires(client, server_headers, admin_headers, clock):
    ban_ip(client, admin_headers, "203.0.113.7", expires_in_seconds=600)
    assert wallet(client, server_headers, address="203.0.113.7").status_code == 403
    clock.advance(seconds=601)
    assert wallet(client, server_headers, address="203.0.113.7").status_code == 200
    assert client.get("/v1/admin/bans", headers=admin_headers).get_json()["bans"] == []


def test_bans_are_listed_and_lifted(client, server_headers, admin_headers, clock):
    first = ban_ip(client, admin_headers, "203.0.113.7")
    assert first == {
        "id": first["id"],
        "kind": "ip",
        "target": "203.0.113.7/32",
        "reason": "abuse",
        "created_at": "2026-11-25T12:00:00+00:00",
        "expires_at": None,
        "created_by": "admin",
    }
    clock.advance(seconds=1)
    second = ban_ip(client, admin_headers, "2001:db8::/32", expires_in_seconds=60)
    assert second["expires_at"] == "2026-11-25T12:01:01+00:00"
    assert listed_bans(client, admin_headers) == [second, first]  # newest first
    banned = wallet(client, server_headers, address="203.0.113.7")
    assert banned.status_code == 403
    assert error_of(banned)["details"]["ban_id"] == first["id"]

    lifted = client.delete(f"/v1/admin/bans/{first['id']}", headers=admin_headers)
    assert (lifted.status_code, lifted.get_data()) == (204, b"")
    assert wallet(client, server_headers, address="203.0.113.7").status_code == 200
    assert listed_bans(client, admin_headers) == [second]
    assert wallet(client, server_headers, address="2001:db8::1").status_code == 403
    again = client.delete(f"/v1/admin/bans/{first['id']}", headers=admin_headers)
    assert again.status_code == 404
    assert error_of(again) == {
        "code": "not_found",
        "message": f"There is no ip ban {first['id']}.",
        "details": {"ban_id": first["id"]},
    }


def test_player_bans(client, server_headers, admin_headers, clock):
    response = client.post(
        "/v1/admin/player-bans",
        headers=admin_headers,
        json={"player_id": "mallory", "reason": "bot", "expires_in_seconds": 3600},
    )
    assert response.status_code == 201
    ban = response.get_json()
    assert ban == {
        "id": ban["id"],
        "kind": "player",
        "target": "mallory",
        "reason": "bot",
        "created_at": "2026-11-25T12:00:00+00:00",
        "expires_at": "2026-11-25T13:00:00+00:00",
        "created_by": "admin",
    }
    refusal = {
        "code": "banned",
        "message": "This player or address is banned.",
        "details": {
            "ban_id": ban["id"],
            "kind": "player",
            "reason": "bot",
            "expires_at": "2026-11-25T13:00:00+00:00",
        },
    }
    blocked = client.post("/v1/players/mallory/login", headers=server_headers)
    assert (blocked.status_code, error_of(blocked)) == (403, refusal)
    assert client.post("/v1/players/alice/login", headers=server_headers).status_code == 200
    assert listed_bans(client, admin_headers, "player-bans") == [ban]
    daily = client.get("/v1/players/mallory/daily", headers=server_headers)
    assert (daily.status_code, error_of(daily)) == (403, refusal)
    lift(client, admin_headers, ban["id"], "player-bans")
    assert listed_bans(client, admin_headers, "player-bans") == []
    # The ban stopped the blocked login before any state changed: this one claims the day.
    login = client.post("/v1/players/mallory/login", headers=server_headers)
    assert login.status_code == 200
    assert (login.get_json()["claimed"], login.get_json()["streak"]) == (True, 1)


def test_admin_routes_act_on_banned_players(client, admin_headers):
    banned = client.post(
        "/v1/admin/player-bans",
        headers=admin_headers,
        json={"player_id": "mallory", "reason": "bot"},
    )
    assert banned.status_code == 201
    grant = client.post(
        "/v1/admin/players/mallory/grants",
        headers=admin_headers | {"Idempotency-Key": "refund"},
        json={"resources": {"coins": 5}, "reason": "refund"},
    )
    assert grant.status_code == 201
    assert grant.get_json()["balances"] == {
        "bricks": 0,
        "cement": 0,
        "coins": 5,
        "logs": 0,
        "steel": 0,
    }


@pytest.mark.parametrize(
    "address", ["999.1.1.1", "not-an-ip", " ", "1.2.3.4/24", "::g", "1.2.3.4%eth0", "fe80::1%"]
)
def test_a_malformed_player_address_is_400(client, server_headers, address):
    response = wallet(client, server_headers, address=address)
    assert response.status_code == 400
    assert "X-Player-IP" in error_of(response)["details"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ip": "nonsense", "reason": "x"}, "ip"),
        ({"ip": "1.2.3.4"}, "reason"),
        ({"ip": "1.2.3.4", "reason": "x", "expires_in_seconds": 0}, "expires_in_seconds"),
        ({"ip": "1.2.3.4", "reason": "x", "extra": 1}, "extra"),
        ({"ip": "1.2.3.4%eth0", "reason": "x"}, "ip"),  # a zone id belongs to IPv6 only
        ({"ip": "fe80::1%/64", "reason": "x"}, "ip"),
    ],
)
def test_bad_ban_requests_are_400(client, admin_headers, body, field):
    response = client.post("/v1/admin/bans", headers=admin_headers, json=body)
    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], list(error["details"])) == ("validation_error", [field])
    assert listed_bans(client, admin_headers) == []


@pytest.mark.parametrize(
    ("ip", "version"),
    [("0.0.0.0/0", 4), ("::/0", 6), ("64:ff9b::/96", 4), ("2002::/16", 4), ("::ffff:0:0/96", 4)],
)
def test_a_ban_of_every_address_is_refused(client, server_headers, admin_headers, ip, version):
    """All of NAT64 or of 6to4 is, once normalised, all of IPv4: surely a mistake."""
    response = client.post("/v1/admin/bans", headers=admin_headers, json={"ip": ip, "reason": "x"})
    assert response.status_code == 400
    assert error_of(response) == {
        "code": "validation_error",
        "message": f"{ip!r} would ban every IPv{version} address.",
        "details": {"ip": ["Must be narrower than every address (a prefix of at least 1)."]},
    }
    assert listed_bans(client, admin_headers) == []
    assert wallet(client, server_headers, address="192.0.2.5").status_code == 200


# One ban per target; overlapping bans ------------------------------------------------


def listed_bans(client, admin_headers, kind="bans"):
    response = client.get(f"/v1/admin/{kind}", headers=admin_headers)
    assert response.status_code == 200
    return response.get_json()["bans"]


def lift(client, admin_headers, ban_id, kind="bans"):
    response = client.delete(f"/v1/admin/{kind}/{ban_id}", headers=admin_headers)
    assert response.status_code == 204


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


# Addresses in other forms are the address they carry ----------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "192.0.2.5",
        "::ffff:192.0.2.5",  # IPv4-mapped
        "::ffff:c000:205",
        "::192.0.2.5",  # IPv4-compatible
        "64:ff9b::c000:205",  # NAT64, well-known prefix
        "64:ff9b::192.0.2.5",
        "2002:c000:205::1",  # 6to4: the site 192.0.2.5
        "2002:c000:205:7:8:9:a:b",
        " 192.0.2.5 ",
    ],
)
def test_a_banned_ipv4_address_is_refused_in_every_form(
    client, server_headers, admin_headers, address
):
    ban = ban_ip(client, admin_headers, "192.0.2.5")
    response = wallet(client, server_headers, address=address)
    assert response.status_code == 403
    assert error_of(response)["details"]["ban_id"] == ban["id"]
    assert wallet(client, server_headers, address="::ffff:192.0.2.6").status_code == 200
    assert wallet(client, server_headers, address="2002:c000:206::1").status_code == 200


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("::ffff:192.0.2.0/120", "192.0.2.0/24"),
        ("::ffff:192.0.2.5", "192.0.2.5/32"),
        ("::192.0.2.0/120", "192.0.2.0/24"),
        ("64:ff9b::c000:200/120", "192.0.2.0/24"),
        ("2002:c000:200::/40", "192.0.2.0/24"),
        ("2002:c000:205::/48", "192.0.2.5/32"),
        ("2002:c000:205:1::/64", "192.0.2.5/32"),  # a part of a 6to4 site is its address
        ("fe80::1%eth0", "fe80::1/128"),
        ("fe80::%3/64", "fe80::/64"),
        ("::1", "::1/128"),  # the IPv6 loopback, not 0.0.0.1
    ],
)
def test_a_ban_given_in_another_form_is_stored_as_the_network_it_means(
    client, admin_headers, given, stored
):
    assert ban_ip(client, admin_headers, given)["target"] == stored


def test_the_same_address_banned_in_two_forms_is_one_ban(client, admin_headers):
    first = ban_ip(client, admin_headers, "192.0.2.0/24")
    again = client.post(
        "/v1/admin/bans",
        headers=admin_headers,
        json={"ip": "::ffff:192.0.2.0/120", "reason": "abuse"},
    )
    assert again.status_code == 200
    assert again.get_json()["id"] == first["id"]


def test_a_zone_id_does_not_escape_an_address_ban(client, server_headers, admin_headers):
    ban_ip(client, admin_headers, "fe80::7")
    for zone in ("1", "eth0", "999"):
        assert wallet(client, server_headers, address=f"fe80::7%{zone}").status_code == 403


# The per-address rate limit -----------------------------------------------------------


@pytest.fixture
def three_reads_a_minute_per_address(app):
    """Reads (the default group) limited to 3 a minute per address, on the test clock."""
    engine = app.extensions["questboard.engine"]
    security = engine.rules.security
    tight = dataclasses.replace(security.rate_limits["default"], address="3/minute")
    engine.rules = dataclasses.replace(
        engine.rules,
        security=dataclasses.replace(
            security, rate_limits={**security.rate_limits, "default": tight}
        ),
    )


def reads(client, server_headers, clock, addresses) -> list[int]:
    """One wallet read per address, each by another player, a second apart."""
    codes = []
    for n, address in enumerate(addresses):
        clock.advance(seconds=1)
        response = client.get(
            f"/v1/players/p{n}/wallet", headers=server_headers | {"X-Player-IP": address}
        )
        codes.append(response.status_code)
    return codes


@pytest.mark.parametrize(
    "addresses",
    [
        [f"fe80::7%{zone}" for zone in ("1", "2", "eth0", "eth1")],
        ["192.0.2.5", "::ffff:192.0.2.5", "64:ff9b::c000:205", "2002:c000:205::1"],
        # Privacy addresses rotate within the /64 a network gives each host or home.
        [f"2001:db8:1:2:{n}::{n}" for n in range(1, 5)],
    ],
)
def test_one_address_in_many_forms_shares_one_limit(
    client, server_headers, clock, three_reads_a_minute_per_address, addresses
):
    assert reads(client, server_headers, clock, addresses) == [200, 200, 200, 429]


def test_addresses_of_other_64s_have_limits_of_their_own(
    client, server_headers, clock, three_reads_a_minute_per_address
):
    addresses = ["2001:db8:1:2::1"] * 3 + ["2001:db8:1:3::1", "2001:db8:1:2::9"]
    assert reads(client, server_headers, clock, addresses) == [200, 200, 200, 200, 429]


# Player ids ----------------------------------------------------------------------------


@pytest.mark.parametrize("player_id", ["bob\n", "bob ", "bo/b", "", "b" * 65])
def test_a_ban_for_a_malformed_player_id_is_400(client, admin_headers, player_id):
    response = client.post(
        "/v1/admin/player-bans",
        headers=admin_headers,
        json={"player_id": player_id, "reason": "bot"},
    )
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert list(error["details"]) == ["player_id"]
    assert listed_bans(client, admin_headers, "player-bans") == []


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


@pytest.fixture
def three_purchases_a_minute_per_address(app, client, admin_headers):
    """Purchases limited to 3 a minute per address; players p0-p4 can afford them."""
    engine = app.extensions["questboard.engine"]
    security = engine.rules.security
    tight = dataclasses.replace(security.rate_limits["purchases"], address="3/minute")
    engine.rules = dataclasses.replace(
        engine.rules,
        security=dataclasses.replace(
            security, rate_limits={**security.rate_limits, "purchases": tight}
        ),
    )
    for n in range(5):
        granted = client.post(
            f"/v1/admin/players/p{n}/grants",
            headers=admin_headers | {"Idempotency-Key": f"funds-{n}"},
            json={"resources": {"coins": 1000}, "reason": "funds"},
        )
        assert granted.status_code == 201


@pytest.mark.parametrize(
    "addresses",
    [
        [f"fe80::7%{zone}" for zone in ("1", "2", "eth0", "eth1")],
        ["192.0.2.5", "::ffff:192.0.2.5", "64:ff9b::c000:205", "2002:c000:205::1"],
        [f"2001:db8:1:2:{n}::{n}" for n in range(1, 5)],
    ],
)
def test_purchases_from_one_address_in_many_forms_share_one_limit(
    client, server_headers, clock, three_purchases_a_minute_per_address, addresses
):
    codes = []
    for n, address in enumerate(addresses):
        clock.advance(seconds=1)
        response = client.post(
            f"/v1/players/p{n}/purchases",
            headers=server_headers | {"X-Player-IP": address, "Idempotency-Key": f"buy-{n}"},
            json={"item": "logs", "quantity": 1},
        )
        codes.append(response.status_code)
    assert codes == [201, 201, 201, 429]
    assert error_of(response)["details"]["scope"] == "address"


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
