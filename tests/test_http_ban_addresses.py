"""Bans and rate limits through HTTP see the address an address carries, in any form.

An IPv4 address banned is refused as IPv4-mapped, NAT64 and 6to4 IPv6 addresses; a ban
given in another form is stored as the network it means, and the same address banned
in two forms is one ban; a zone id does not escape a ban. One address in many forms
(and the privacy addresses of one IPv6 /64) shares one per-address limit, of reads and
of purchases; addresses of other /64s have limits of their own.
"""

from __future__ import annotations

import dataclasses

import pytest

from tests.conftest import error_of
from tests.http_bans import ban_ip, wallet

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis


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
