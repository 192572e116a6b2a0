"""Numbers in a query or a path written other than as plain ASCII digits are refused.

Python's int() reads `1_0` as 10, `+5` and ` 5 ` as 5, and the digits of every script
(Arabic-Indic, fullwidth...) as ASCII ones; regular expressions' \\d take those digits
too. A client, a cache or a proxy in front reads such a value as text, or refuses it,
so the service must not read it as a number: 400 validation_error naming the
parameter, on every route and on the hot lanes alike. Other hostile queries: test_http_input_queries.py.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.conftest import EXAM, error_of
from tests.hot_lanes import Lanes, answer_of

LENIENT = [
    "1_0",
    "+5",
    " 5",
    "5 ",
    "5\t",
    "\u00a05",  # a no-break space
    "\u0661\u0660",  # Arabic-Indic 10
    "\u06f5",  # extended Arabic-Indic 5
    "\uff11\uff10",  # fullwidth 10
    "\u0967",  # Devanagari 1
    "1\u0660",  # an ASCII digit and an Arabic-Indic one
]


def integer_query_parameters(app) -> list[tuple[str, str]]:
    """(path, parameter) of every integer query parameter of a GET in the spec."""
    spec = app.test_client().get("/openapi.json").get_json()
    found = []
    for path, operations in spec["paths"].items():
        for parameter in operations.get("get", {}).get("parameters", []):
            if parameter["in"] == "query" and parameter["schema"].get("type") == "integer":
                sample = path.replace("{player_id}", "alice").replace("{period_type}", "weekly")
                sample = sample.replace("{subscription_id}", "whsub_0")
                found.append((sample, parameter["name"]))
    return found


@pytest.mark.parametrize("value", LENIENT)
def test_every_integer_query_parameter_refuses_a_lenient_spelling(app, admin_headers, value):
    client = app.test_client()
    parameters = integer_query_parameters(app)
    assert len(parameters) == 7  # ledger, board (2), around-me, events, deliveries (2)
    for path, name in parameters:
        response = client.get(f"{path}?{name}={quote(value)}", headers=admin_headers)
        assert response.status_code == 400, (path, name)
        error = error_of(response)
        assert error["code"] == "validation_error", (path, name)
        assert error["details"] == {name: ["Not a valid integer."]}, (path, name)


@pytest.mark.parametrize("value", ["5", "05", "-5"])
def test_every_integer_query_parameter_still_reads_ascii_digits(app, admin_headers, value):
    """A minus sign and leading zeros stay numbers: -5 is out of every range (named as
    such, not as a malformed number), 05 is 5."""
    client = app.test_client()
    for path, name in integer_query_parameters(app):
        response = client.get(f"{path}?{name}={value}", headers=admin_headers)
        if value == "-5":
            assert response.status_code == 400, (path, name)
            assert error_of(response)["details"][name] != ["Not a valid integer."], path
        else:
            assert response.status_code in (200, 404), (path, name)


@pytest.mark.parametrize("value", ["1_0", "+5", "0_5", "%EF%BC%95", "%D9%A5"])
def test_the_around_me_lane_refuses_a_lenient_number_as_flask_does(
    app, client, server_headers, value
):
    """The hot read loads around= with the route's own schema: it hands such a query to
    Flask, which refuses it; neither answers the standing as if around were a number."""
    exam = client.post("/v1/players/alice/exams", headers=server_headers, json=EXAM)
    assert exam.status_code == 201
    lanes = Lanes(app)
    path = f"/v1/leaderboards/weekly/players/alice?around={value}"
    flask_answer = answer_of(lanes.flask.get(path, headers=server_headers))
    lane_answer = answer_of(lanes.lane.get(path, headers=server_headers))
    assert lane_answer == flask_answer
    assert flask_answer[0] == "400 BAD REQUEST"
    response = client.get(path, headers=server_headers)
    assert error_of(response)["details"] == {"around": ["Not a valid integer."]}
