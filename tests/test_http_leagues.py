"""Leagues over HTTP: a player's league before and after their first exam, a cohort for
spectators, and the errors of a bad or unknown cohort."""

from __future__ import annotations

import pytest

from tests.conftest import EXAM, error_of

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis


def post_exam(client, headers, player, exam_id, score):
    body = EXAM | {"exam_id": exam_id, "score": score}
    response = client.post(f"/v1/players/{player}/exams", headers=headers, json=body)
    assert response.status_code == 201, response.get_json()


def test_a_players_league_before_and_after_their_first_exam(client, server_headers):
    before = client.get("/v1/players/alice/league", headers=server_headers)
    assert before.status_code == 200
    assert before.get_json() == {
        "player_id": "alice",
        "period_type": "weekly",
        "period": "2026-W48",
        "ends_at": "2026-11-30T03:00:00+00:00",
        "tier": "bronze",
        "cohort": None,
    }
    post_exam(client, server_headers, "alice", "a1", 70)
    post_exam(client, server_headers, "bob", "b1", 90)
    league = client.get("/v1/players/alice/league", headers=server_headers).get_json()
    assert league["cohort"] == {
        "cohort_id": "bronze-1",
        "period_type": "weekly",
        "period": "2026-W48",
        "tier": "bronze",
        "size": 30,
        "promotion_zone": 2,
        "relegation_zone": 0,
        "members": [
            {"player_id": "bob", "rank": 1, "position": 1, "score": 90, "zone": "promotion"},
            {"player_id": "alice", "rank": 2, "position": 2, "score": 70, "zone": "promotion"},
        ],
    }
    spectator = client.get("/v1/leagues/2026-W48/cohorts/bronze-1", headers=server_headers)
    assert spectator.get_json() == league["cohort"]


def test_an_unknown_cohort_is_404_and_a_bad_one_400(client, server_headers):
    missing = client.get("/v1/leagues/2026-W48/cohorts/bronze-1", headers=server_headers)
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
    bad = client.get("/v1/leagues/2026-W48/cohorts/tin-1", headers=server_headers)
    assert bad.status_code == 400 and error_of(bad)["code"] == "validation_error"
    bad_period = client.get("/v1/leagues/2026-48/cohorts/bronze-1", headers=server_headers)
    assert bad_period.status_code == 400


@pytest.mark.parametrize(
    "cohort_id",
    [
        "bronze-\u00b2",  # superscript two: a digit to str.isdigit, not to int()
        "bronze-\u0663",  # Arabic-Indic three: int() reads it as 3
        "bronze-\uff11",  # fullwidth one
        "bronze-9223372036854775808",  # one past the largest number SQL and Redis count to
        "bronze-" + "9" * 40,
        "bronze-+1",
        "bronze- 1",
        "bronze-1_0",
        "bronze-01",  # another spelling of bronze-1: an id has one
        "bronze-0001",
    ],
)
def test_a_cohort_number_other_than_ascii_digits_in_range_is_400(client, server_headers, cohort_id):
    post_exam(client, server_headers, "alice", "e1", 80)  # bronze-1 exists
    bad = client.get(f"/v1/leagues/2026-W48/cohorts/{cohort_id}", headers=server_headers)
    assert bad.status_code == 400 and error_of(bad)["code"] == "validation_error"
    assert "cohort_id" in error_of(bad)["details"]


def test_the_largest_cohort_number_is_well_formed_and_names_no_cohort(client, server_headers):
    largest = client.get(
        "/v1/leagues/2026-W48/cohorts/bronze-9223372036854775807", headers=server_headers
    )
    assert largest.status_code == 404 and error_of(largest)["code"] == "not_found"
