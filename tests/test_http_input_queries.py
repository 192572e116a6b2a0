"""Hostile queries and paths at the HTTP layer: every bad one is a 4xx, never a 500.

Bad numbers in a query, a player id that is not text, every integer query parameter
out of range, a ledger cursor Redis refuses (and the engine checking it whoever calls
it), a clock moved out of range and an offset out of range in Redis, the job
dashboard's path arguments. Hostile bodies: tests/test_http_input.py.
"""

from __future__ import annotations

import pytest

from engine.clock import FixedClock, RedisOffsetClock
from tests.conftest import error_of
from web import create_app

GRANTS = "/v1/admin/players/alice/grants"


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


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1//players/alice/wallet"),
        ("GET", "/v1/players/alice//wallet"),
        ("GET", "/v1/leaderboards//weekly"),
        ("POST", "/v1//players/alice/purchases"),
        ("POST", "/v1/players//alice/exams"),
    ],
)
def test_a_path_with_an_empty_segment_is_a_json_404(client, server_headers, method, path):
    """Werkzeug answered these with a 308 to the path without the empty segment, in
    HTML (and a Location built from the request's Host): a client of this API reads
    JSON, and a path the API does not spell is one it does not have."""
    response = client.open(
        path, method=method, headers=server_headers | {"Idempotency-Key": "k-1"}, json={}
    )
    assert response.status_code == 404
    assert "Location" not in response.headers
    assert error_of(response)["code"] == "not_found"


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


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/v1/players/alice/ledger?limit=1&limit=x", "limit"),
        ("/v1/players/alice/ledger?limit=1&limit=1", "limit"),
        ("/v1/leaderboards/weekly?category=math&category=global", "category"),
        ("/v1/leaderboards/weekly?limit=5&offset=0&limit=50", "limit"),
        ("/v1/leaderboards/weekly/players/alice?period=2026-W48&period=2026-W47", "period"),
        ("/v1/leaderboards/weekly/players/alice?around=1&around=2", "around"),
    ],
)
def test_a_parameter_of_one_value_given_twice_is_a_400(client, server_headers, path, name):
    """Which copy counts depends on the reader (the first here, the last elsewhere), so
    a cache or a proxy could read another request than the service: refused, as a JSON
    name given twice is, and never the first read while the second goes unchecked."""
    response = client.get(path, headers=server_headers)
    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], error["details"]) == (
        "validation_error",
        {name: ["Given more than once: send it once."]},
    )


def test_a_parameter_of_many_values_may_repeat(client, server_headers):
    response = client.get("/v1/wallets?player_id=alice&player_id=bob", headers=server_headers)
    assert response.status_code == 200
    players = [item["result"]["player_id"] for item in response.get_json()["results"]]
    assert players == ["alice", "bob"]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/leaderboards/yearly?period=9999",
        "/v1/leaderboards/monthly?period=9999-12",
        "/v1/leaderboards/weekly?period=9999-W52",
        "/v1/leaderboards/yearly/players/alice?period=9999",
        "/v1/leaderboards/monthly/players/alice?period=9999-12",
        "/v1/leaderboards/weekly/players/alice?period=9999-W52",
        "/v1/leagues/9999-W52/cohorts/bronze-1",
    ],
)
def test_a_period_whose_end_is_past_the_calendar_is_a_400(client, server_headers, path):
    """The last period of year 9999 is well formed, but it ends in year 10000, which
    no date holds: named, it is no period there is, as 2026-W99 is."""
    response = client.get(path, headers=server_headers)
    assert response.status_code == 400
    assert error_of(response)["details"] == {"period": ["There is no such period."]}


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
