"""A purchase's plain body (web.purchases.PLAIN_BODY) is loaded by a match, with the
result PurchaseRequestSchema gives, and every other body still goes through the schema
and the strict JSON parser, whose refusals are the answer."""

from __future__ import annotations

import json

import pytest

from web import purchases
from web.guards import loads
from web.purchases import PLAIN_BODY, PLAIN_KEY

PLAIN = [
    b'{"item": "bricks", "quantity": 1}',
    b'{"item":"bricks","quantity":2}',
    b' \r\n\t{ "item" : "steel_2.x-y" , "quantity" : 999999 }\n',
    b'{"item": "' + b"a" * 64 + b'", "quantity": 10}',
]

# Valid or not, none of these is plain: each must reach the schema and the parser.
NOT_PLAIN = [
    b'{"quantity": 1, "item": "bricks"}',  # another order
    b'{"item": "bricks", "quantity": 1, "expected_price": {"coins": 20}}',
    b'{"item": "bricks", "quantity": 1.0}',
    b'{"item": "bricks", "quantity": 1e0}',
    b'{"item": "bricks", "quantity": 01}',
    b'{"item": "bricks", "quantity": -1}',
    b'{"item": "bricks", "quantity": 0}',
    b'{"item": "bricks", "quantity": 1000000}',  # the hard maximum itself: the schema's
    b'{"item": "bricks", "quantity": "1"}',
    b'{"item": "bricks", "quantity": true}',
    b'{"item": "\\u0062ricks", "quantity": 1}',  # an escape: the text is not the value
    b'{"item": "", "quantity": 1}',
    b'{"item": "' + b"a" * 65 + b'", "quantity": 1}',
    b'{"item": "bricks", "item": "steel", "quantity": 1}',  # a duplicate name
    b'\x0c{"item": "bricks", "quantity": 1}',  # a form feed is no JSON whitespace
    b'\xef\xbb\xbf{"item": "bricks", "quantity": 1}',  # a byte order mark
    b'{"item": "bricks", "quantity": 1}}',
    b'[{"item": "bricks", "quantity": 1}]',
]


@pytest.mark.parametrize("body", PLAIN)
def test_a_plain_body_is_what_the_schema_loads(app, body):
    match = PLAIN_BODY.fullmatch(body)
    assert match is not None
    with app.app_context():
        loaded = purchases.BODY.load(loads(body))
    assert {"item": match[1].decode(), "quantity": int(match[2])} == loaded


@pytest.mark.parametrize("body", NOT_PLAIN)
def test_any_other_body_is_not_matched(body):
    assert PLAIN_BODY.fullmatch(body) is None


@pytest.mark.parametrize("key", ["k", "order-81723", "~" * 128])
def test_a_key_the_header_schema_takes_is_plain(key):
    assert purchases.HEADERS.load({"Idempotency-Key": key}) == {"idempotency_key": key}
    assert PLAIN_KEY.fullmatch(key)


@pytest.mark.parametrize("key", ["", "a b", "k\n", "x" * 129, "é"])
def test_a_key_the_header_schema_refuses_is_not_plain(key):
    assert PLAIN_KEY.fullmatch(key) is None


def fund(client, admin_headers, player):
    response = client.post(
        f"/v1/admin/players/{player}/grants",
        headers=admin_headers | {"Idempotency-Key": "fund"},
        json={"resources": {"coins": 1000}, "reason": "funding"},
    )
    assert response.status_code == 201


def without_ids(value):
    """The answer with every transaction id left out (two players' ids differ)."""
    if isinstance(value, dict):
        return {k: without_ids(v) for k, v in value.items() if k != "transaction_id"}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


def post(client, headers, key, body: bytes, player="ann"):
    return client.post(
        f"/v1/players/{player}/purchases",
        headers=headers | {"Idempotency-Key": key, "Content-Type": "application/json"},
        data=body,
    )


def test_a_plain_purchase_skips_the_schema_and_answers_as_the_schema_path(
    client, server_headers, admin_headers, monkeypatch
):
    fund(client, admin_headers, "ann")
    fund(client, admin_headers, "bob")
    reordered = post(client, server_headers, "k1", b'{"quantity": 2, "item": "bricks"}', "bob")
    loads_by_schema = []
    load = purchases.BODY.load
    monkeypatch.setattr(
        purchases.BODY, "load", lambda data: loads_by_schema.append(data) or load(data)
    )
    plain = post(client, server_headers, "k1", b'{"item": "bricks", "quantity": 2}')
    assert loads_by_schema == []  # the match loaded it
    assert (plain.status_code, reordered.status_code) == (201, 201)
    assert without_ids(plain.get_json()) == without_ids(reordered.get_json())
    replay = post(client, server_headers, "k1", b'{"item":"bricks","quantity":2}')
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'{"item": "bricks", "item": "steel", "quantity": 1}', 400, "validation_error"),
        (b'{"item": "bricks", "quantity": 0}', 400, "validation_error"),
        (b'{"item": "bricks", "quantity": 1000000}', 400, "validation_error"),
        (b'{"item": "nothing", "quantity": 1}', 404, "unknown_item"),
    ],
)
def test_a_body_that_is_not_plain_gets_the_schema_paths_answer(
    client, server_headers, body, status, code
):
    response = post(client, server_headers, "k1", body)
    assert response.status_code == status, response.get_json()
    assert json.loads(response.data)["error"]["code"] == code


def test_a_plain_body_with_a_refused_key_gets_the_parsers_answer(client, server_headers):
    response = post(client, server_headers, "a b", b'{"item": "bricks", "quantity": 1}')
    assert response.status_code == 400
    assert "Idempotency-Key" in json.dumps(response.get_json()["error"]["details"])
