"""A body sent with a Content-Encoding is refused, naming the header, and changes nothing.

The service reads bodies as they come (no gzip, no br): a game server that compressed
its body was told "Invalid JSON body.", and one whose body carried `Content-Encoding:
br` over plain JSON (a proxy that labelled it, a client that compresses only above a
size) was served as if the header were not there: the purchase was made. Both are now
`400 validation_error` with `details["Content-Encoding"]`, on the write lanes
(web.hot_purchase, web.hot_exam) as through Flask, and nothing is applied.
"""

from __future__ import annotations

import gzip
import json

import pytest

from tests.conftest import error_of

PURCHASE = {"item": "logs", "quantity": 1}
EXAM = {
    "exam_id": "zipped-1",
    "category_id": "math",
    "score": 70,
    "total_questions": 10,
    "correct_answers": 7,
}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def funded(client, admin_headers):
    response = client.post(
        "/v1/admin/players/zoe/grants",
        json={"resources": {"coins": 500}, "reason": "welcome"},
        headers={**admin_headers, "Idempotency-Key": "welcome-zoe"},
    )
    assert response.status_code == 201
    return response.get_json()["balances"]


def ledger_size(client, server_headers) -> int:
    response = client.get("/v1/players/zoe/ledger?limit=200", headers=server_headers)
    return len(response.get_json()["entries"])


def refused_for_encoding(response) -> None:
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert list(error["details"]) == ["Content-Encoding"]


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzip.compress(json.dumps(PURCHASE).encode())),
        ("br", json.dumps(PURCHASE).encode()),  # labelled, not compressed
        ("gzip", json.dumps(PURCHASE).encode()),
    ],
    ids=["gzip", "br-labelled", "gzip-labelled"],
)
def test_an_encoded_purchase_is_refused_and_buys_nothing(
    client, server_headers, funded, encoding, body
):
    before = ledger_size(client, server_headers)
    response = client.post(
        "/v1/players/zoe/purchases",
        data=body,
        headers={
            **server_headers,
            **JSON,
            "Idempotency-Key": f"zipped-{encoding}",
            "Content-Encoding": encoding,
        },
    )
    refused_for_encoding(response)
    wallet = client.get("/v1/players/zoe/wallet", headers=server_headers).get_json()
    assert wallet["balances"] == funded
    assert ledger_size(client, server_headers) == before


def test_an_encoded_exam_is_refused_and_counts_nothing(client, server_headers):
    response = client.post(
        "/v1/players/zoe/exams",
        data=json.dumps(EXAM).encode(),
        headers={**server_headers, **JSON, "Content-Encoding": "deflate"},
    )
    refused_for_encoding(response)
    board = client.get("/v1/leaderboards/weekly/players/zoe", headers=server_headers)
    assert board.status_code == 404


def test_an_encoded_batch_and_grant_are_refused(client, server_headers, admin_headers):
    batch = client.post(
        "/v1/exams:batch",
        data=json.dumps({"exams": [{**EXAM, "player_id": "zoe"}]}).encode(),
        headers={**server_headers, **JSON, "Content-Encoding": "gzip"},
    )
    refused_for_encoding(batch)
    grant = client.post(
        "/v1/admin/players/zoe/grants",
        data=json.dumps({"resources": {"coins": 5}, "reason": "x"}).encode(),
        headers={**admin_headers, **JSON, "Idempotency-Key": "g-zip", "Content-Encoding": "br"},
    )
    refused_for_encoding(grant)
    wallet = client.get("/v1/players/zoe/wallet", headers=server_headers).get_json()
    assert wallet["balances"]["coins"] == 0


@pytest.mark.parametrize("encoding", ["identity", "Identity", " identity "])
def test_identity_is_no_encoding(client, server_headers, funded, encoding):
    response = client.post(
        "/v1/players/zoe/purchases",
        data=json.dumps(PURCHASE).encode(),
        headers={
            **server_headers,
            **JSON,
            "Idempotency-Key": "plain-identity",
            "Content-Encoding": encoding,
        },
    )
    assert response.status_code == 201


def test_a_bodyless_request_may_carry_the_header(client, server_headers):
    response = client.post(
        "/v1/players/zoe/login", headers={**server_headers, "Content-Encoding": "gzip"}
    )
    assert response.status_code == 200
