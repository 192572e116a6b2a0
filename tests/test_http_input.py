"""Hostile bodies at the HTTP layer: every bad body is a 4xx with the JSON error body.

Bodies nested deep, numbers of thousands of digits or beyond the double range, NaN,
names given twice, strings that are not Unicode, bodies that are not objects, a body
streamed past the size limit, and each of them sent to every JSON route: none of them
reaches a 500. Query strings, paths, the ledger cursor, the QA clock and the job
dashboard's arguments: tests/test_http_input_queries.py.
"""

from __future__ import annotations

import io
import json

import pytest

from tests.conftest import error_of

PURCHASES = "/v1/players/alice/purchases"
GRANTS = "/v1/admin/players/alice/grants"
JSON = {"Content-Type": "application/json"}


def invalid_json(reason: str) -> dict:
    return {
        "code": "validation_error",
        "message": "The request is not valid.",
        "details": {"json": [reason]},
    }


def post_raw(client, headers, body: bytes | str, path: str = PURCHASES, key: str = "k-1"):
    return client.post(path, headers=headers | JSON | {"Idempotency-Key": key}, data=body)


# JSON bodies -------------------------------------------------------------------------

DEEPER_THAN_ALLOWED = "Nested deeper than 32 levels."


@pytest.mark.parametrize(
    "body",
    [
        "[" * 1000 + "]" * 1000,
        '{"item": ' * 1000 + "1" + "}" * 1000,
        '{"item": "steel", "quantity": 1, "expected_price": ' + "[" * 40 + "]" * 40 + "}",
        "[" * 10_000,
    ],
    ids=["array-1000", "object-1000", "field-40", "unclosed-10000"],
)
def test_a_body_nested_too_deep_is_a_400(client, server_headers, body):
    response = post_raw(client, server_headers, body)
    assert response.status_code == 400
    assert error_of(response) == invalid_json(DEEPER_THAN_ALLOWED)


def test_nesting_up_to_the_limit_is_parsed_and_judged_by_the_schema(client, server_headers):
    body = '{"item": "steel", "quantity": 1, "expected_price": ' + "[" * 31 + "]" * 31 + "}"
    response = post_raw(client, server_headers, body)
    assert response.status_code == 400
    assert error_of(response)["details"] == {"expected_price": ["Not a valid mapping type."]}


@pytest.mark.parametrize("digits", [4301, 16_000])
def test_an_integer_of_more_than_4300_digits_is_a_400(client, server_headers, digits):
    response = post_raw(
        client, server_headers, '{"item": "steel", "quantity": ' + "9" * digits + "}"
    )
    assert response.status_code == 400
    assert error_of(response) == invalid_json("A number has more than 4300 digits.")


@pytest.mark.parametrize("number", ["9" * 4300, "-" + "9" * 4300, "0." + "1" * 5000])
def test_a_long_number_python_can_read_is_judged_by_the_schema(client, server_headers, number):
    response = post_raw(client, server_headers, '{"item": "steel", "quantity": ' + number + "}")
    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], list(error["details"])) == ("validation_error", ["quantity"])


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1" * 400 + ".0"])
def test_a_number_beyond_the_double_range_is_a_400(client, server_headers, number):
    response = post_raw(client, server_headers, '{"item": "steel", "quantity": ' + number + "}")
    assert response.status_code == 400
    assert error_of(response) == invalid_json("A number is beyond the range of a double.")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(client, server_headers, constant):
    response = post_raw(client, server_headers, '{"item": "steel", "quantity": ' + constant + "}")
    assert response.status_code == 400
    assert error_of(response) == invalid_json("NaN and Infinity are not JSON numbers.")


def test_a_name_given_twice_in_one_object_is_a_400(client, server_headers, funded_alice):
    response = post_raw(client, server_headers, '{"item": "logs", "item": "steel", "quantity": 1}')
    assert response.status_code == 400
    assert error_of(response) == invalid_json("The name 'item' appears twice in one object.")
    wallet = client.get("/v1/players/alice/wallet", headers=server_headers).get_json()
    assert wallet["balances"]["coins"] == 1000


@pytest.mark.parametrize(
    "reason", ['"\\ud800"', '"tail \\udfff"', '"\\ud800\\u0041"'], ids=["high", "low", "unpaired"]
)
def test_a_string_with_a_lone_surrogate_is_a_400_and_stores_nothing(client, admin_headers, reason):
    body = '{"resources": {"coins": 5}, "reason": ' + reason + "}"
    response = post_raw(client, admin_headers, body, path=GRANTS)
    assert response.status_code == 400
    assert error_of(response) == invalid_json("A string holds a lone surrogate (not Unicode).")
    ledger = client.get("/v1/players/alice/ledger", headers=admin_headers).get_json()
    assert ledger["entries"] == []


def test_a_surrogate_pair_is_one_character(client, admin_headers):
    body = '{"resources": {"coins": 5}, "reason": "gift \\ud83c\\udf81"}'
    response = post_raw(client, admin_headers, body, path=GRANTS)
    assert response.status_code == 201
    ledger = client.get("/v1/players/alice/ledger", headers=admin_headers).get_json()
    assert ledger["entries"][0]["reason"] == "gift \U0001f381"


@pytest.mark.parametrize(
    "body",
    [b'{"item": "st\xffeel", "quantity": 1}', b"\xef\xbb\xbf{}", '{"item": "é"}'.encode("utf-16")],
    ids=["bad-byte", "bom", "utf-16"],
)
def test_a_body_that_is_not_utf8_json_is_a_400(client, server_headers, body):
    response = post_raw(client, server_headers, body)
    assert response.status_code == 400
    assert error_of(response) == invalid_json("Invalid JSON body.")


@pytest.mark.parametrize("body", ["[]", '"steel"', "1", "null", "true"])
def test_a_body_that_is_not_an_object_is_a_400(client, server_headers, body):
    response = post_raw(client, server_headers, body)
    assert response.status_code == 400
    assert error_of(response)["details"] == {"_schema": ["Invalid input type."]}


def test_an_empty_json_body_names_the_missing_fields(client, server_headers):
    response = post_raw(client, server_headers, b"")
    assert response.status_code == 400
    assert error_of(response)["details"] == {
        "item": ["Missing data for required field."],
        "quantity": ["Missing data for required field."],
    }


@pytest.mark.parametrize("quantity", ["2.5", "1e-3", '"2"', "true", "[2]"])
def test_a_quantity_that_is_not_an_integer_is_a_400(client, server_headers, quantity):
    response = post_raw(client, server_headers, '{"item": "steel", "quantity": ' + quantity + "}")
    assert response.status_code == 400
    assert error_of(response)["details"] == {"quantity": ["Not a valid integer."]}


def test_request_get_json_parses_as_strictly(app):
    """Flask's own parser is the same strict one, for any code that reads a body itself."""
    from flask import request
    from werkzeug.exceptions import BadRequest

    for body in (b'{"a": 1, "a": 2}', b"[" * 40 + b"]" * 40, b'{"a": NaN}'):
        with app.test_request_context(data=body, headers=JSON), pytest.raises(BadRequest):
            request.get_json()


@pytest.fixture
def funded_alice(client, admin_headers):
    response = client.post(
        GRANTS,
        headers=admin_headers | {"Idempotency-Key": "fund"},
        json={"resources": {"coins": 1000}, "reason": "funding"},
    )
    assert response.status_code == 201


# Body size, however the body arrives -------------------------------------------------


def streamed(body: bytes) -> dict:
    """A chunked body as a WSGI server hands it on: no Content-Length, input terminated."""
    return {
        "input_stream": io.BytesIO(body),
        "environ_overrides": {"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
        "headers": {"Transfer-Encoding": "chunked"},
    }


def padded_grant(size: int) -> bytes:
    """A valid grant body of `size` bytes (trailing spaces are valid JSON)."""
    body = json.dumps({"resources": {"coins": 5}, "reason": "padded"}).encode()
    return body + b" " * (size - len(body))


@pytest.mark.parametrize("size", [16_385, 40_000, 1_000_000])
def test_a_streamed_body_over_the_limit_is_a_413(client, admin_headers, size):
    request = streamed(padded_grant(size))
    response = client.post(
        GRANTS,
        input_stream=request["input_stream"],
        environ_overrides=request["environ_overrides"],
        headers=admin_headers | JSON | request["headers"] | {"Idempotency-Key": "big"},
    )
    assert response.status_code == 413
    assert error_of(response) == {
        "code": "validation_error",
        "message": "The request body is too large.",
        "details": {"body": ["The request body is too large."]},
    }
    ledger = client.get("/v1/players/alice/ledger", headers=admin_headers).get_json()
    assert ledger["entries"] == []


def test_a_streamed_body_at_the_limit_is_read_whole(client, admin_headers):
    request = streamed(padded_grant(16_384))
    response = client.post(
        GRANTS,
        input_stream=request["input_stream"],
        environ_overrides=request["environ_overrides"],
        headers=admin_headers | JSON | request["headers"] | {"Idempotency-Key": "at-limit"},
    )
    assert response.status_code == 201
    assert response.get_json()["balances"]["coins"] == 5


# Every route at once -----------------------------------------------------------------

HOSTILE_BODIES = {
    "deep": ("[" * 1000 + "]" * 1000, DEEPER_THAN_ALLOWED),
    "long-number": ('{"a": ' + "9" * 5000 + "}", "A number has more than 4300 digits."),
    "nan": ('{"a": NaN}', "NaN and Infinity are not JSON numbers."),
    "twice": ('{"a": 1, "a": 2}', "The name 'a' appears twice in one object."),
    "surrogate": ('{"a": "\\udc00"}', "A string holds a lone surrogate (not Unicode)."),
    "not-utf8": (b'{"a": "\xc3\x28"}', "Invalid JSON body."),
}


def json_body_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every operation whose spec has a JSON request body."""
    spec = app.test_client().get("/openapi.json").get_json()
    routes = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):  # the path's own "parameters"
                continue
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                sample = path.replace("{player_id}", "alice").replace("{name}", "x")
                routes.append((method.upper(), sample))
    return routes


@pytest.mark.parametrize("hostile", sorted(HOSTILE_BODIES))
def test_every_json_route_refuses_a_hostile_body_with_its_reason(app, admin_headers, hostile):
    client = app.test_client()
    body, reason = HOSTILE_BODIES[hostile]
    routes = json_body_routes(app)
    assert ("POST", "/v1/players/alice/purchases") in routes
    assert ("PUT", "/v1/admin/clock") in routes
    for method, path in routes:
        headers = admin_headers | JSON | {"Idempotency-Key": f"{hostile}-{method}-{path}"}
        response = client.open(path, method=method, headers=headers, data=body)
        assert response.status_code == 400, (method, path)
        assert error_of(response) == invalid_json(reason), (method, path)
