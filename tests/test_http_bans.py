"""Bans through HTTP: addresses, ranges (IPv4, IPv6), players, expiry, lifting.

A ban refuses its address, range or player with a 403 until it expires or is lifted;
malformed addresses, player ids and ban requests are a 400, and a ban of every address
is refused. One ban per target and overlapping bans: tests/test_http_ban_targets.py;
an address in its other forms: tests/test_http_ban_addresses.py.
"""

from __future__ import annotations

import pytest

from tests.conftest import error_of
from tests.http_bans import ban_ip, lift, listed_bans, wallet

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis


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
