"""Numbers in a query or a path written other than as plain ASCII digits are refused.

Python's int() reads `1_0` as 10, `+5` and ` 5 ` as 5, and the digits of every script
(Arabic-Indic, fullwidth...) as ASCII ones; regular expressions' \\d take those digits
too. A client, a cache or a proxy in front reads such a value as text, or refuses it,
so the service must not read it as a number: 400 validation_error naming the
parameter, on every route and on the hot lanes alike. Other hostile queries:
test_http_input_queries.py.
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


@pytest.mark.parametrize(
    "period",
    [
        "\uff12\uff10\uff12\uff16-W48",  # fullwidth 2026
        "\u0662\u0660\u0662\u0666-W\u0664\u0668",  # Arabic-Indic 2026 and 48
        "2026-W4\uff18",
        "\u0968\u0966\u0968\u0966-W48",  # Devanagari 2026
    ],
)
def test_a_league_period_of_other_digits_is_a_400_not_the_period_it_resembles(
    client, server_headers, period
):
    """The period in the cohort's path is matched by engine.calendar, whose \\d took any
    script's digits: the cohort of 2026-W48 was answered 200 under such a name."""
    exam = client.post("/v1/players/alice/exams", headers=server_headers, json=EXAM)
    assert exam.status_code == 201
    found = client.get("/v1/leagues/2026-W48/cohorts/bronze-1", headers=server_headers)
    assert found.status_code == 200
    response = client.get(f"/v1/leagues/{quote(period)}/cohorts/bronze-1", headers=server_headers)
    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], error["details"]) == (
        "validation_error",
        {"period": ["Must look like YYYY-Www."]},
    )


@pytest.mark.parametrize("name", ["\uff12\uff10\uff12\uff16", "\u0662\u0660\u0662\u0666-11"])
def test_the_calendar_reads_ascii_digits_only(engine, name):
    from engine.errors import InvalidInputError

    period_type = "yearly" if "-" not in name else "monthly"
    with pytest.raises(InvalidInputError):
        engine.calendar.parse(period_type, name)
    assert engine.calendar.parse("monthly", "2026-11").name == "2026-11"


def test_the_spec_gives_the_cohort_paths_patterns(client):
    """The spec said only 'a non-empty string' of the period and the cohort id."""
    spec = client.get("/openapi.json").get_json()
    parameters = spec["paths"]["/v1/leagues/{period}/cohorts/{cohort_id}"]["parameters"]
    schemas = {parameter["name"]: parameter["schema"] for parameter in parameters}
    assert schemas["period"]["pattern"] == "^[0-9]{4}(-W[0-9]{2}|-[0-9]{2})?$"
    assert schemas["cohort_id"]["pattern"] == "^[a-z][a-z0-9_]{0,31}-[1-9][0-9]{0,18}$"
