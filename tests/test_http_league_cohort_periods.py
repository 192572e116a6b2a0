"""A cohort asked for in a period that has not started, or one no longer kept, answers
as the boards do for the same period (400 validation_error naming `period`; 404
period_expired with the period and how many are kept), and the OpenAPI document lists
those answers on the route; an unknown cohort of a kept period stays 404 not_found."""

from __future__ import annotations

import pytest

from tests.conftest import error_of
from tests.test_http_leagues import post_exam

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis


def both(client, headers, period):
    """The cohort route's and the weekly board's answers for `period`."""
    cohort = client.get(f"/v1/leagues/{period}/cohorts/bronze-1", headers=headers)
    board = client.get(f"/v1/leaderboards/weekly?period={period}", headers=headers)
    return cohort, board


def test_a_period_not_started_is_400_as_on_the_boards(client, server_headers):
    post_exam(client, server_headers, "alice", "a1", 70)
    for period in ("2026-W49", "2027-W01"):
        cohort, board = both(client, server_headers, period)
        assert (cohort.status_code, board.status_code) == (400, 400)
        assert error_of(cohort)["code"] == error_of(board)["code"] == "validation_error"
        assert error_of(cohort)["details"] == error_of(board)["details"]
        assert "period" in error_of(cohort)["details"]


def test_a_period_no_longer_kept_is_period_expired_as_on_the_boards(client, server_headers):
    cohort, board = both(client, server_headers, "2025-W01")
    assert (cohort.status_code, board.status_code) == (404, 404)
    assert error_of(cohort)["code"] == error_of(board)["code"] == "period_expired"
    assert error_of(cohort)["details"] == error_of(board)["details"]


def test_a_cohort_that_existed_answers_period_expired_once_its_period_is_gone(
    client, server_headers, clock
):
    post_exam(client, server_headers, "alice", "a1", 70)
    path = "/v1/leagues/2026-W48/cohorts/bronze-1"
    assert client.get(path, headers=server_headers).status_code == 200
    clock.advance(days=7 * 13)  # 2026-W48 is kept 12 weeks after its end (rules.toml)

    gone = client.get(path, headers=server_headers)

    assert gone.status_code == 404 and error_of(gone)["code"] == "period_expired"
    assert error_of(gone)["details"] == {"period": "2026-W48", "kept": 12}


def test_an_unknown_cohort_of_a_kept_period_is_still_not_found(client, server_headers, clock):
    clock.advance(days=7)
    for period in ("2026-W48", "2026-W49"):  # ended, current
        missing = client.get(f"/v1/leagues/{period}/cohorts/bronze-1", headers=server_headers)
        assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"


def test_the_openapi_document_lists_the_cohort_routes_answers(client):
    spec = client.get("/openapi.json").get_json()
    responses = spec["paths"]["/v1/leagues/{period}/cohorts/{cohort_id}"]["get"]["responses"]
    assert responses["404"]["x-error-codes"] == ["not_found", "period_expired"]
    assert responses["400"]["x-error-codes"] == ["validation_error"]
    path_parameters = spec["paths"]["/v1/leagues/{period}/cohorts/{cohort_id}"]["parameters"]
    period = next(p for p in path_parameters if p["name"] == "period")
    assert "not started" in period["description"] and "period_expired" in period["description"]
