"""Bans through HTTP: addresses, ranges (IPv4, IPv6), players, expiry, lifting."""

from __future__ import annotations

import pytest

from tests.conftest import error_of


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
    clock.advance(seconds=1)
    ban_ip(client, admin_headers, "2001:db8::/32", expires_in_seconds=60)
    listed = client.get("/v1/admin/bans", headers=admin_headers).get_json()["bans"]
    assert [b["target"] for b in listed] == ["2001:db8::/32", "203.0.113.7/32"]
    assert listed[0]["expires_at"] is not None
    assert client.delete(f"/v1/admin/bans/{first['id']}", headers=admin_headers).status_code == 204
    assert wallet(client, server_headers, address="203.0.113.7").status_code == 200
    again = client.delete(f"/v1/admin/bans/{first['id']}", headers=admin_headers)
    assert again.status_code == 404


def test_player_bans(client, server_headers, admin_headers, clock):
    response = client.post(
        "/v1/admin/player-bans",
        headers=admin_headers,
        json={"player_id": "mallory", "reason": "bot", "expires_in_seconds": 3600},
    )
    assert response.status_code == 201
    ban = response.get_json()
    blocked = client.post("/v1/players/mallory/login", headers=server_headers)
    assert blocked.status_code == 403
    assert error_of(blocked)["details"]["reason"] == "bot"
    assert client.post("/v1/players/alice/login", headers=server_headers).status_code == 200
    listed = client.get("/v1/admin/player-bans", headers=admin_headers).get_json()["bans"]
    assert [b["target"] for b in listed] == ["mallory"]
    # A ban stops the request before any state changes.
    daily = client.get("/v1/players/mallory/daily", headers=server_headers)
    assert daily.status_code == 403
    client.delete(f"/v1/admin/player-bans/{ban['id']}", headers=admin_headers)
    assert client.post("/v1/players/mallory/login", headers=server_headers).status_code == 200


def test_admin_routes_act_on_banned_players(client, admin_headers):
    client.post(
        "/v1/admin/player-bans",
        headers=admin_headers,
        json={"player_id": "mallory", "reason": "bot"},
    )
    grant = client.post(
        "/v1/admin/players/mallory/grants",
        headers=admin_headers | {"Idempotency-Key": "refund"},
        json={"resources": {"coins": 5}, "reason": "refund"},
    )
    assert grant.status_code == 201


@pytest.mark.parametrize("address", ["999.1.1.1", "not-an-ip", " ", "1.2.3.4/24", "::g"])
def test_a_malformed_player_address_is_400(client, server_headers, address):
    response = wallet(client, server_headers, address=address)
    assert response.status_code == 400
    assert "X-Player-IP" in error_of(response)["details"]


@pytest.mark.parametrize(
    "body",
    [
        {"ip": "nonsense", "reason": "x"},
        {"ip": "1.2.3.4"},
        {"ip": "1.2.3.4", "reason": "x", "expires_in_seconds": 0},
        {"ip": "1.2.3.4", "reason": "x", "extra": 1},
    ],
)
def test_bad_ban_requests_are_400(client, admin_headers, body):
    assert client.post("/v1/admin/bans", headers=admin_headers, json=body).status_code == 400
