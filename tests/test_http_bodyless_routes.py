"""A route that takes no body refuses one it cannot read, as the routes of no fields do.

POST /login, POST /v1/admin/jobs/{name}/run, the webhooks' test and redeliver and every
DELETE read nothing from their body. A body there is a client that believes it says
something (a login "for bob" on alice's path, a malformed one): it is refused with the
400 a route of no fields (POST /ad-rewards) answers, and nothing changes. An empty body,
or an empty object, is what such a client means, and is served as before.
"""

from __future__ import annotations

import pytest

from tests.conftest import error_of

LOGIN = "/v1/players/alice/login"
JSON = {"Content-Type": "application/json"}


def wallet(client, headers) -> dict:
    return client.get("/v1/players/alice/wallet", headers=headers).get_json()["balances"]


@pytest.mark.parametrize(
    ("body", "content_type", "details"),
    [
        (b'{"player_id": "bob"}', "application/json", {"player_id": ["Unknown field."]}),
        (b"{", "application/json", {"json": ["Invalid JSON body."]}),
        (b"[]", "application/json", {"_schema": ["Invalid input type."]}),
        (b"null", "application/json", {"_schema": ["Invalid input type."]}),
        (
            b"player=bob",
            "application/x-www-form-urlencoded",
            {"json": ["The body must be JSON, sent with Content-Type: application/json."]},
        ),
    ],
)
def test_a_login_with_a_body_it_cannot_read_is_a_400_and_claims_nothing(
    client, server_headers, body, content_type, details
):
    before = wallet(client, server_headers)

    response = client.post(
        LOGIN, headers=server_headers | {"Content-Type": content_type}, data=body
    )

    assert response.status_code == 400
    assert error_of(response) == {
        "code": "validation_error",
        "message": "The request is not valid.",
        "details": details,
    }
    assert wallet(client, server_headers) == before
    day = client.get("/v1/players/alice/daily", headers=server_headers).get_json()
    assert day["login"] == {"claimed": False, "streak": 0}


@pytest.mark.parametrize(("body", "headers"), [(b"", {}), (b"", JSON), (b"{}", JSON)])
def test_a_login_without_a_body_or_with_an_empty_object_claims(
    client, server_headers, body, headers
):
    response = client.post(LOGIN, headers=server_headers | headers, data=body)

    assert response.status_code == 200
    assert response.get_json()["claimed"] is True


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/admin/jobs/persist/run"),
        ("DELETE", "/v1/admin/players/alice/leaderboards"),
        ("DELETE", "/v1/admin/clock"),
        ("POST", "/v1/admin/webhooks/1/test"),
    ],
)
def test_every_route_without_a_body_refuses_one_with_fields(app, admin_headers, method, path):
    response = app.test_client().open(
        path, method=method, headers=admin_headers | JSON, data=b'{"force": true}'
    )

    assert response.status_code == 400
    assert error_of(response)["details"] == {"force": ["Unknown field."]}
