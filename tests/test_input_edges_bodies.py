"""A JSON body's values are read as the JSON types the spec gives them, nothing looser.

The body's integers are strict already (WholeNumber: "70" and true are refused). A
boolean was not: marshmallow's Boolean also reads the strings "yes", "off", "0", "F"
and the numbers 1, 0 and 1.0, so PATCH /v1/admin/webhooks/{id} {"enabled": "no"}
turned a subscription off where the spec says a boolean. Other hostile bodies:
tests/test_http_input.py.
"""

from __future__ import annotations

import pytest

from tests.conftest import error_of

SUBSCRIPTION = {"url": "https://hooks.example.com/questboard", "events": ["purchase.completed"]}


@pytest.fixture
def subscription(client, admin_headers) -> str:
    keyed = admin_headers | {"Idempotency-Key": "subscription-1"}
    response = client.post("/v1/admin/webhooks", headers=keyed, json=SUBSCRIPTION)
    assert response.status_code == 201
    return f"/v1/admin/webhooks/{response.get_json()['id']}"


@pytest.mark.parametrize("value", ["no", "off", "false", "0", "F", 0, 0.0, "", "yes", 1, 1.0])
def test_enabled_must_be_a_json_boolean(client, admin_headers, subscription, value):
    response = client.patch(subscription, headers=admin_headers, json={"enabled": value})
    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], error["details"]) == (
        "validation_error",
        {"enabled": ["Not a valid boolean."]},
    )
    assert client.get(subscription, headers=admin_headers).get_json()["enabled"] is True


def test_enabled_takes_true_and_false(client, admin_headers, subscription):
    off = client.patch(subscription, headers=admin_headers, json={"enabled": False})
    assert (off.status_code, off.get_json()["enabled"]) == (200, False)
    on = client.patch(subscription, headers=admin_headers, json={"enabled": True})
    assert (on.status_code, on.get_json()["enabled"]) == (200, True)


@pytest.mark.parametrize(
    "ip", [" 203.0.113.7", "203.0.113.7\n", "203.0.113.0/24 ", "\u3000203.0.113.7", "\t::1"]
)
def test_a_ban_address_with_white_space_around_it_is_a_400(client, admin_headers, ip):
    """The spec gives the address as an IPv4 or IPv6 address or an IPv4 network, matched
    whole, as every other value of a body: white space around one was stripped and the
    ban made, as a player id with a trailing newline once became a new player."""
    response = client.post("/v1/admin/bans", headers=admin_headers, json={"ip": ip, "reason": "r"})
    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], list(error["details"])) == ("validation_error", ["ip"])
    assert client.get("/v1/admin/bans", headers=admin_headers).get_json()["bans"] == []


@pytest.mark.parametrize("header", [" 203.0.113.7", "203.0.113.7\t", " 203.0.113.7 "])
def test_the_player_address_header_drops_only_its_optional_white_space(
    client, server_headers, header
):
    """Space and tab around a header's value are no part of it (RFC 9110, OWS): HTTP
    servers drop them before the app sees the value, and so does the service."""
    headers = server_headers | {"X-Player-IP": header}
    assert client.get("/v1/players/alice/wallet", headers=headers).status_code == 200
