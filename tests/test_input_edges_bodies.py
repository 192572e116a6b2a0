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
    response = client.post("/v1/admin/webhooks", headers=admin_headers, json=SUBSCRIPTION)
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
