"""An Idempotency-Key sent twice is refused, never read as a new key.

HTTP lets a recipient join the lines of a header given more than once with commas
(RFC 9110, 5.3), and granian does, without a space: two `Idempotency-Key: r-1` lines
reach the app as `r-1,r-1`, one key of visible ASCII. A client whose retry layer adds
the header again to a request that already had it then had its retry counted as a new
purchase. A key holds no comma, so the joined value is refused, through the test client
and through the Procfile's server alike.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import ADMIN_KEY, SERVER_KEY, error_of
from tests.granian_server import exchange
from tests.hot_lanes import Lanes, answer_of

PURCHASE = {"item": "logs", "quantity": 1}
KEY_ROUTES = [
    ("/v1/players/alice/purchases", PURCHASE),
    ("/v1/players/alice/ad-rewards", None),
    ("/v1/players/alice/streak/repair", None),
    ("/v1/players/alice/login", None),
]


@pytest.mark.parametrize("key", ["r-1,r-1", "r-1,r-2", "a,", ","])
def test_a_key_with_a_comma_is_refused_on_every_route_that_takes_one(
    client, server_headers, admin_headers, key
):
    for path, body in KEY_ROUTES:
        response = client.post(path, headers=server_headers | {"Idempotency-Key": key}, json=body)
        assert response.status_code == 400, path
        assert list(error_of(response)["details"]) == ["Idempotency-Key"], path
    grant = client.post(
        "/v1/admin/players/alice/grants",
        headers=admin_headers | {"Idempotency-Key": key},
        json={"resources": {"coins": 5}, "reason": "r"},
    )
    assert grant.status_code == 400
    assert list(error_of(grant)["details"]) == ["Idempotency-Key"]
    item = {"player_id": "alice", "resources": {"coins": 5}, "reason": "r", "idempotency_key": key}
    batch = client.post("/v1/admin/grants:batch", headers=admin_headers, json={"grants": [item]})
    assert batch.status_code == 400
    assert error_of(batch)["details"] == {
        "grants": {"0": {"idempotency_key": [error_of(grant)["details"]["Idempotency-Key"][0]]}}
    }


def test_the_purchase_lane_refuses_a_joined_key_as_flask_does(app, server_headers):
    lanes = Lanes(app)
    headers = server_headers | {"Idempotency-Key": "r-1,r-1"}
    flask = answer_of(
        lanes.flask.post("/v1/players/alice/purchases", headers=headers, json=PURCHASE)
    )
    lane = answer_of(lanes.lane.post("/v1/players/alice/purchases", headers=headers, json=PURCHASE))
    assert lane == flask
    assert flask[0] == "400 BAD REQUEST"


def post(port: int, path: str, header_lines: list[str], body: dict | None = None) -> tuple:
    data = json.dumps(body).encode() if body is not None else b""
    lines = [f"POST {path} HTTP/1.1", "Host: localhost", "Connection: close", *header_lines]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    status, _, answer = exchange(port, ("\r\n".join(lines) + "\r\n\r\n").encode() + data)
    return status, json.loads(answer)


def test_a_retry_that_repeats_the_key_header_is_not_a_second_purchase(server_port):
    admin, server = f"Authorization: Bearer {ADMIN_KEY}", f"Authorization: Bearer {SERVER_KEY}"
    granted = post(
        server_port,
        "/v1/admin/players/dora/grants",
        [admin, "Idempotency-Key: welcome-dora"],
        {"resources": {"coins": 100}, "reason": "welcome"},
    )
    assert granted[0] == 201
    first = post(
        server_port, "/v1/players/dora/purchases", [server, "Idempotency-Key: r-1"], PURCHASE
    )
    assert first[0] == 201
    retried = post(
        server_port,
        "/v1/players/dora/purchases",
        [server, "Idempotency-Key: r-1", "Idempotency-Key: r-1"],
        PURCHASE,
    )
    assert retried[0] == 400
    assert list(retried[1]["error"]["details"]) == ["Idempotency-Key"]
    assert first[1]["balances"]["logs"] == granted[1]["balances"]["logs"] + 2  # bonus, one bought
    wallet = exchange(
        server_port,
        f"GET /v1/players/dora/wallet HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        f"{server}\r\n\r\n".encode(),
    )
    assert json.loads(wallet[2])["balances"] == first[1]["balances"]
