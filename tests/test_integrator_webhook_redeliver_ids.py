"""A redelivery of a delivery id that is not a number names the id it was asked for.

`POST /v1/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver` read any id other
than plain digits as delivery 0, and its 404 said so: "There is no delivery 0 of
whsub_...", `details.delivery_id` 0, for `abc`, `-1` or a number of 19 digits or
more, so an admin tool's log named a delivery nobody asked for. It is still 404
not_found (no delivery has such an id), naming the id as sent; an unknown
subscription is still its own 404 first.
"""

from __future__ import annotations

import pytest

from tests.conftest import error_of
from tests.test_http_webhooks import create


@pytest.fixture
def subscription(client, admin_headers) -> str:
    return create(client, admin_headers).get_json()["id"]


@pytest.mark.parametrize("delivery_id", ["abc", "-1", "0x1", "9" * 19, "1.0"])
def test_the_404_names_the_id_asked_for(client, admin_headers, subscription, delivery_id):
    response = client.post(
        f"/v1/admin/webhooks/{subscription}/deliveries/{delivery_id}/redeliver",
        headers=admin_headers,
    )
    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "not_found"
    assert error["details"] == {"delivery_id": delivery_id}
    assert repr(delivery_id) in error["message"] or delivery_id in error["message"]
    assert " 0 " not in error["message"]


def test_an_unknown_subscription_is_named_first(client, admin_headers):
    response = client.post(
        "/v1/admin/webhooks/whsub_0000000000000000/deliveries/abc/redeliver",
        headers=admin_headers,
    )
    assert response.status_code == 404
    assert error_of(response)["details"] == {"subscription_id": "whsub_0000000000000000"}


def test_a_number_still_reaches_its_delivery(client, admin_headers, subscription):
    ping = client.post(f"/v1/admin/webhooks/{subscription}/test", headers=admin_headers)
    delivery_id = ping.get_json()["id"]
    response = client.post(
        f"/v1/admin/webhooks/{subscription}/deliveries/{delivery_id}/redeliver",
        headers=admin_headers,
    )
    assert response.status_code == 202
    assert response.get_json()["id"] == delivery_id
