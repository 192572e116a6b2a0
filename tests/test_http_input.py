"""Hostile input at the HTTP layer: every bad request is a 4xx with the JSON error body.

Bodies nested deep, numbers of thousands of digits, strings that are not Unicode, a
ledger cursor Redis refuses, a clock moved out of range, a body streamed past the size
limit: none of them reaches a 500.
"""

from __future__ import annotations

import io
import json

import pytest

from engine.clock import FixedClock, RedisOffsetClock
from tests.conftest import error_of
from web import create_app

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


# Query strings and paths -------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "limit=99999999999999999999999999",
        "limit=" + "9" * 5000,
        "limit=1e3",
        "limit=2.0",
        "limit=NaN",
        "limit=%ff",
        "limit=%00",
        "%ff=1",
    ],
)
def test_a_bad_number_in_a_query_is_a_400(client, server_headers, query):
    response = client.get(f"/v1/players/alice/ledger?{query}", headers=server_headers)
    assert response.status_code == 400
    assert error_of(response)["code"] == "validation_error"


@pytest.mark.parametrize("path", ["/v1/players/%ff/wallet", "/v1/players/a%00b/wallet"])
def test_a_player_id_that_is_not_text_is_a_400(client, server_headers, path):
    response = client.get(path, headers=server_headers)
    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], list(error["details"])) == ("validation_error", ["player_id"])


def integer_query_parameters(app) -> list[tuple[str, str]]:
    """(path, parameter) of every integer query parameter of a GET in the spec."""
    spec = app.test_client().get("/openapi.json").get_json()
    found = []
    for path, operations in spec["paths"].items():
        for parameter in operations.get("get", {}).get("parameters", []):
            if parameter["in"] == "query" and parameter["schema"].get("type") == "integer":
                sample = path.replace("{player_id}", "alice").replace("{period_type}", "weekly")
                found.append((sample, parameter["name"]))
    return found


@pytest.mark.parametrize(
    "value", ["9" * 5000, "-" + "9" * 30, "1e3", "2.0", "NaN", "%ff", "%00", "0x10"]
)
def test_every_integer_query_parameter_refuses_what_is_not_one_in_range(app, admin_headers, value):
    client = app.test_client()
    parameters = integer_query_parameters(app)
    assert ("/v1/leaderboards/weekly", "offset") in parameters
    for path, name in parameters:
        response = client.get(f"{path}?{name}={value}", headers=admin_headers)
        assert response.status_code == 400, (path, name)
        error = error_of(response)
        assert (error["code"], list(error["details"])) == ("validation_error", [name]), path


# The ledger cursor -------------------------------------------------------------------


@pytest.fixture
def redis_client(settings, real_redis, clock):
    """The app on the real Redis: it, not fakeredis, refuses stream ids out of range."""
    return create_app(settings, redis_client=real_redis, clock=clock).test_client()


def grant(client, headers, key: str, coins: int = 5):
    response = client.post(
        GRANTS,
        headers=headers | {"Idempotency-Key": key},
        json={"resources": {"coins": coins}, "reason": key},
    )
    assert response.status_code == 201
    return response.get_json()["transaction_id"]


@pytest.mark.parametrize("before", ["0-0", "0-1", "1-0"])
def test_a_cursor_before_the_first_entry_is_an_empty_page(redis_client, admin_headers, before):
    grant(redis_client, admin_headers, "g-1")
    response = redis_client.get(f"/v1/players/alice/ledger?before={before}", headers=admin_headers)
    assert response.status_code == 200
    assert response.get_json() == {"player_id": "alice", "entries": []}


def test_a_cursor_after_the_last_entry_pages_from_the_newest(redis_client, admin_headers):
    first = grant(redis_client, admin_headers, "g-1")
    top = "9999999999999999999-9999999999999999999"
    response = redis_client.get(f"/v1/players/alice/ledger?before={top}", headers=admin_headers)
    assert response.status_code == 200
    assert [entry["transaction_id"] for entry in response.get_json()["entries"]] == [first]


@pytest.mark.parametrize(
    "before",
    [
        "18446744073709551616-0",
        "0-18446744073709551616",
        "99999999999999999999-1",
        "1-1%0A",
        "1-1%0D%0A",
        "%201-1",
        "1-",
        "-1",
        "1",
        "1-1-1",
        "%EF%BC%91-1",  # a fullwidth digit one: a digit to Python's \d, not to Redis
    ],
)
def test_a_malformed_or_out_of_range_cursor_is_a_400(redis_client, admin_headers, before):
    grant(redis_client, admin_headers, "g-1")
    response = redis_client.get(f"/v1/players/alice/ledger?before={before}", headers=admin_headers)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert list(error["details"]) == ["before"]


# The QA clock ------------------------------------------------------------------------


@pytest.fixture
def qa_clock(store):
    from datetime import UTC, datetime

    from engine import keys

    base = FixedClock(datetime(2026, 11, 25, 12, tzinfo=UTC))
    return RedisOffsetClock(store, keys.clock_offset(), base=base)


@pytest.fixture
def qa_client(settings, store, qa_clock):
    return create_app(settings, redis_client=store, clock=qa_clock).test_client()


OUT_OF_RANGE = {"now": ["Must be from 2000-01-01T00:00:00+00:00 to 2199-12-31T23:59:59+00:00."]}


@pytest.mark.parametrize(
    "moment",
    [
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00Z",
        "1999-12-31T23:59:59Z",
        "2200-01-01T00:00:00Z",
        "2199-12-31T23:59:59-01:00",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
    ],
)
def test_the_clock_override_refuses_a_time_out_of_range(
    qa_client, admin_headers, server_headers, moment
):
    response = qa_client.put("/v1/admin/clock", headers=admin_headers, json={"now": moment})
    assert response.status_code == 400
    assert error_of(response) == {
        "code": "validation_error",
        "message": "The clock can only be set between 2000 and 2199.",
        "details": OUT_OF_RANGE,
    }
    health = qa_client.get("/healthz").get_json()
    assert health["now"] == "2026-11-25T12:00:00+00:00"
    assert qa_client.get("/v1/players/alice/wallet", headers=server_headers).status_code == 200


@pytest.mark.app_on_both_backends
@pytest.mark.parametrize("moment", ["2000-01-01T00:00:00Z", "2199-12-31T23:59:59Z"])
def test_every_player_route_works_at_the_ends_of_the_clock_range(
    qa_client, admin_headers, server_headers, moment
):
    response = qa_client.put("/v1/admin/clock", headers=admin_headers, json={"now": moment})
    assert response.status_code == 200
    assert response.get_json()["now"] == moment.replace("Z", "+00:00")
    login = qa_client.post("/v1/players/alice/login", headers=server_headers)
    assert login.status_code == 200
    assert login.get_json()["claimed"] is True
    for path in (
        "/v1/players/alice/wallet",
        "/v1/players/alice/daily",
        "/v1/players/alice/ledger",
        "/v1/players/alice/ranks",
        "/v1/leaderboards/weekly",
        "/v1/tool-of-the-day",
    ):
        assert qa_client.get(path, headers=server_headers).status_code == 200, path


@pytest.mark.parametrize("stored", [str(10**18), str(-(10**18)), "not a number"])
@pytest.mark.app_on_both_backends
def test_an_offset_out_of_range_in_redis_is_ignored(qa_client, store, server_headers, stored):
    from engine import keys

    store.set(keys.clock_offset(), stored)
    assert qa_client.get("/healthz").get_json()["now"] == "2026-11-25T12:00:00+00:00"
    assert qa_client.get("/v1/players/alice/wallet", headers=server_headers).status_code == 200


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


@pytest.mark.parametrize(
    ("before", "refused"),
    [("0-0", False), ("18446744073709551615-18446744073709551615", False)]
    + [(cursor, True) for cursor in ("18446744073709551616-0", "1-1\n", "\uff11-1", "1")],
)
def test_the_engine_checks_the_cursor_whoever_calls_it(engine, before, refused):
    """The web schema bounds the cursor too; the engine does not rely on it."""
    from engine.economy import ledger
    from engine.errors import InvalidInputError

    if refused:
        with pytest.raises(InvalidInputError) as raised:
            ledger.history(engine, "alice", before=before)
        assert list(raised.value.details) == ["before"]
    else:
        assert ledger.history(engine, "alice", before=before) == []


# The job dashboard's path arguments --------------------------------------------------


@pytest.fixture
def dashboard(settings, real_redis, clock):
    """The app with rq-dashboard on the real Redis (the run's own database)."""
    import dataclasses

    from tests.conftest import real_redis_url

    with_queues = dataclasses.replace(settings, rq_redis_url=real_redis_url())
    return create_app(with_queues, redis_client=real_redis, clock=clock).test_client()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/admin/rq/0/view/job/nope"),
        ("GET", "/admin/rq/0/data/job/nope.json"),
        ("POST", "/admin/rq/job/nope/requeue"),
        ("GET", "/admin/rq/7/view/queues"),
        ("GET", "/admin/rq/99999999999999999999/data/queues.json"),
        ("GET", "/admin/rq/0/data/jobs/questboard/nope/10/asc/1.json"),
        ("GET", "/admin/rq/0/view/jobs/questboard/nope/10/asc/1"),
        ("POST", "/admin/rq/queue/nope/compact"),
    ],
)
def test_the_dashboard_answers_what_does_not_exist_with_a_404(
    dashboard, admin_headers, method, path
):
    response = dashboard.open(path, method=method, headers=admin_headers)
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/admin/rq/0/data/jobs/questboard/queued/0/asc/1.json", "per_page"),
        ("/admin/rq/0/data/jobs/questboard/queued/x/asc/1.json", "per_page"),
        ("/admin/rq/0/data/jobs/questboard/queued/10/asc/0.json", "page"),
        ("/admin/rq/0/data/jobs/questboard/queued/10/asc/99999999999999999999.json", "page"),
        ("/admin/rq/0/data/jobs/questboard/queued/10/sideways/1.json", "order"),
        ("/admin/rq/0/view/jobs/questboard/queued/10000/asc/1", "per_page"),
    ],
)
def test_the_dashboard_refuses_a_page_out_of_range_with_a_400(
    dashboard, admin_headers, path, field
):
    response = dashboard.get(path, headers=admin_headers)
    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], list(error["details"])) == ("validation_error", [field])


def test_the_dashboard_still_lists_a_queue_page(dashboard, admin_headers):
    response = dashboard.get(
        "/admin/rq/0/data/jobs/questboard/failed/10/dsc/1.json", headers=admin_headers
    )
    assert response.status_code == 200
    assert response.get_json()["jobs"] == []
