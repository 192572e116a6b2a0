"""Placing, listing and lifting bans through the admin API, for the HTTP ban tests.

tests/test_http_bans.py, tests/test_http_ban_targets.py and tests/test_http_ban_addresses.py
ban addresses and players and read a wallet from an address to see a ban enforced.
"""

from __future__ import annotations


def ban_ip(client, admin_headers, ip, **extra):
    response = client.post(
        "/v1/admin/bans", headers=admin_headers, json={"ip": ip, "reason": "abuse"} | extra
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def wallet(client, headers, player="alice", address=None):
    extra = {"X-Player-IP": address} if address else {}
    return client.get(f"/v1/players/{player}/wallet", headers=headers | extra)


def listed_bans(client, admin_headers, kind="bans"):
    response = client.get(f"/v1/admin/{kind}", headers=admin_headers)
    assert response.status_code == 200
    return response.get_json()["bans"]


def lift(client, admin_headers, ban_id, kind="bans"):
    response = client.delete(f"/v1/admin/{kind}/{ban_id}", headers=admin_headers)
    assert response.status_code == 204
